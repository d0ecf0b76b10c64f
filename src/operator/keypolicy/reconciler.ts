import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { withCondition } from '../api/conditions.js';
import { ROTATE_ANNOTATION, type KeyPolicyStatus } from '../api/keypolicy.js';
import type { OAuth2ClientResource } from '../api/oauth2client.js';
import { desiredClient, isPublic } from '../controller/desired.js';
import type { EventPort, SecretPort, ServerPort } from '../controller/ports.js';
import { decode, keysOf } from '../controller/secret.js';
import type { RotationMetrics, RotationReason } from './metrics.js';
import { byPrecedence, durationsOf, rfc3339, rotationDue, rotationStateOf, selects, ROTATED_AT, ROTATION_ANSWERED, type KeyPolicyResource } from './decide.js';

export interface KeyPolicyPort {
  get(key: string): KeyPolicyResource | undefined;
  list(namespace: string): KeyPolicyResource[];
  patchStatus(policy: KeyPolicyResource, status: KeyPolicyStatus): Promise<void>;
}

export interface ClientListPort {
  list(namespace: string): OAuth2ClientResource[];
}

export interface KeyPolicyDeps {
  policies: KeyPolicyPort;
  clients: ClientListPort;
  secrets: SecretPort;
  servers: ServerPort;
  events: EventPort;
  metrics?: RotationMetrics;
  now?: () => number;
}

/** Some rotations of a policy failed; the others went ahead. Retried with backoff. */
export class RotationFailedError extends Error {
  override name = 'RotationFailedError';
}

/** Never wait longer than this before looking again: a long interval still gets a fresh look daily. */
const MAX_REQUEUE_MS = 24 * 3_600_000;
const MIN_REQUEUE_MS = 1_000;

/**
 * One KeyPolicy: finds the clients it governs (selected, and not won by an older policy), replaces the secret of each
 * whose time has come, and reports them in its status. A rotation is: a secret minted by the server; the server told
 * to take it while the secret the Secret holds stays valid for the grace period; the Secret updated; then the status.
 * A crash between any two steps leaves the Secret's secret working and the rotation still due, so the next
 * reconcile starts it again from the secret the application holds.
 */
export class KeyPolicyReconciler {
  private readonly now: () => number;

  constructor(private readonly deps: KeyPolicyDeps) {
    this.now = deps.now ?? Date.now;
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const policy = this.deps.policies.get(key);
    if (!policy) return {};
    const { namespace } = policy.metadata;
    const { intervalMs, graceMs } = durationsOf(policy.spec);
    const rivals = this.deps.policies.list(namespace).filter((other) => other.metadata.uid !== policy.metadata.uid);
    const governed: NonNullable<KeyPolicyStatus['clients']> = [];
    const conflicts: string[] = [];
    const failures: string[] = [];
    let earliest: number | undefined;
    const now = this.now();

    const selected = this.deps.clients.list(namespace).filter((client) => selects(policy.spec.selector, client.metadata.labels));
    for (const client of selected.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
      const competing = rivals.filter((other) => selects(other.spec.selector, client.metadata.labels));
      const winner: KeyPolicyResource = [policy, ...competing].sort(byPrecedence)[0]!;
      if (competing.length) {
        conflicts.push(
          winner === policy
            ? `${client.metadata.name} is also selected by ${names(competing)}; this policy governs it (the oldest)`
            : `${client.metadata.name} is also selected by ${names(competing)}; ${winner.metadata.name} governs it (the oldest)`,
        );
      }
      if (winner !== policy) continue;
      // One client's failure does not hold up the others' rotations.
      try {
        const entry = await this.keepRotated(policy, client, { intervalMs, graceMs }, now);
        if (!entry) continue;
        governed.push(entry.status);
        if (entry.nextAt !== undefined) earliest = earliest === undefined ? entry.nextAt : Math.min(earliest, entry.nextAt);
      } catch (error) {
        failures.push(`${client.metadata.name}: ${(error as Error).message}`);
        this.deps.metrics?.failed(namespace, policy.metadata.name);
      }
    }
    try {
      await this.releaseLeavers(policy, selected, graceMs, now);
    } catch (error) {
      failures.push(`releasing a client: ${(error as Error).message}`);
      this.deps.metrics?.failed(namespace, policy.metadata.name);
    }
    this.deps.metrics?.nextRotations(
      namespace,
      policy.metadata.name,
      governed.map((entry) => ({ name: entry.name, seconds: Math.max(0, Math.round((Date.parse(entry.nextRotation ?? '') - this.now()) / 1000)) })),
    );
    await this.writeStatus(policy, governed, earliest, conflicts, failures);
    if (failures.length) throw new RotationFailedError(`rotation failed for ${failures.join('; ')}`);
    const wait = earliest === undefined ? MAX_REQUEUE_MS : Math.min(MAX_REQUEUE_MS, Math.max(MIN_REQUEUE_MS, earliest - this.now()));
    return { requeueAfterMs: wait };
  }

  /** Rotates the client when due; its entry for the status, or undefined for a client that has no secret to rotate yet. */
  private async keepRotated(
    policy: KeyPolicyResource,
    client: OAuth2ClientResource,
    durations: { intervalMs: number; graceMs: number },
    now: number,
  ): Promise<{ status: NonNullable<KeyPolicyStatus['clients']>[number]; nextAt?: number } | undefined> {
    // A public client has no secret; one whose secret the user provides is the user's to rotate.
    if (isPublic(client.spec) || client.spec.existingSecret) return undefined;
    const secret = await this.deps.secrets.get(client.metadata.namespace, client.spec.secretName);
    const { idKey, secretKey } = keysOf(client);
    const clientId = decode(secret, idKey);
    const held = decode(secret, secretKey);
    if (!secret || !clientId || !held) return undefined;
    const state = rotationStateOf(secret);
    const requested = client.metadata.annotations?.[ROTATE_ANNOTATION];
    const decision = rotationDue(state, requested, durations.intervalMs, now);
    if (!decision.due) {
      return {
        status: { name: client.metadata.name, clientId, lastRotation: rfc3339(state.rotatedAt), nextRotation: rfc3339(decision.nextAt) },
        nextAt: decision.nextAt,
      };
    }
    await this.rotate(policy, client, secret, { clientId, held, secretKey, graceMs: durations.graceMs, answered: requested ?? state.answered }, now);
    this.deps.metrics?.rotated(client.metadata.namespace, policy.metadata.name, decision.reason);
    const nextAt = now + durations.intervalMs;
    return { status: { name: client.metadata.name, clientId, lastRotation: rfc3339(now), nextRotation: rfc3339(nextAt) }, nextAt };
  }

  private async rotate(
    policy: KeyPolicyResource,
    client: OAuth2ClientResource,
    secret: V1Secret,
    what: { clientId: string; held: string; secretKey: string; graceMs: number; answered: string | undefined },
    now: number,
  ): Promise<void> {
    const { api } = await this.deps.servers.for(client);
    const fresh = await api.mintClientSecret();
    const graceSeconds = Math.max(1, Math.ceil(what.graceMs / 1000));
    // The secret the Secret holds is named, not left to the server: after a crash that lost a secret the server took,
    // it is still the one the application has.
    await api.updateClient(what.clientId, {
      ...desiredClient(client, what.clientId),
      client_secret: fresh,
      client_secret_grace_period: graceSeconds,
      previous_client_secret: what.held,
    });
    const hashAnnotation = policy.spec.secretTemplate?.hashAnnotation;
    await this.deps.secrets.replace({
      ...secret,
      metadata: {
        ...secret.metadata,
        annotations: {
          ...secret.metadata?.annotations,
          ...policy.spec.secretTemplate?.annotations,
          ...policy.spec.rotationAnnotations,
          ...(hashAnnotation ? { [hashAnnotation]: createHash('sha256').update(`${what.clientId}:${fresh}`).digest('hex').slice(0, 16) } : {}),
          [ROTATED_AT]: rfc3339(now),
          ...(what.answered !== undefined ? { [ROTATION_ANSWERED]: what.answered } : {}),
        },
        labels: { ...secret.metadata?.labels, ...policy.spec.secretTemplate?.labels },
      },
      data: { ...secret.data, [what.secretKey]: Buffer.from(fresh).toString('base64') },
    });
    this.deps.events.record(
      client,
      'Normal',
      'SecretRotated',
      `rotated the client secret (KeyPolicy ${policy.metadata.name}); the previous one works until ${rfc3339(now + graceSeconds * 1000)}`,
    );
  }

  /** With whenReleased: rotate, a client that left the selection gets one fresh secret, so none this policy issued outlives its rule. */
  private async releaseLeavers(policy: KeyPolicyResource, selected: OAuth2ClientResource[], graceMs: number, now: number): Promise<void> {
    if (policy.spec.whenReleased !== 'rotate') return;
    const still = new Set(selected.map((client) => client.metadata.name));
    const leavers = (policy.status?.clients ?? []).filter((entry) => !still.has(entry.name));
    for (const entry of leavers) {
      const client = this.deps.clients.list(policy.metadata.namespace).find((candidate) => candidate.metadata.name === entry.name);
      if (!client || isPublic(client.spec) || client.spec.existingSecret) continue;
      const secret = await this.deps.secrets.get(client.metadata.namespace, client.spec.secretName);
      const { idKey, secretKey } = keysOf(client);
      const clientId = decode(secret, idKey);
      const held = decode(secret, secretKey);
      if (!secret || !clientId || !held) continue;
      await this.rotate(policy, client, secret, { clientId, held, secretKey, graceMs, answered: rotationStateOf(secret).answered }, now);
      this.deps.metrics?.rotated(client.metadata.namespace, policy.metadata.name, 'released' satisfies RotationReason);
    }
  }

  private async writeStatus(
    policy: KeyPolicyResource,
    clients: NonNullable<KeyPolicyStatus['clients']>,
    earliest: number | undefined,
    conflicts: string[],
    failures: string[],
  ) {
    const previous = policy.status ?? {};
    const generation = policy.metadata.generation;
    let conditions = withCondition(
      previous.conditions,
      failures.length
        ? { type: 'Ready', status: 'False', reason: 'RotationFailed', message: `retrying: ${failures.join('; ')}`, observedGeneration: generation }
        : {
            type: 'Ready',
            status: 'True',
            reason: 'Reconciled',
            message: `governs ${clients.length} client${clients.length === 1 ? '' : 's'}`,
            observedGeneration: generation,
          },
    );
    conditions = withCondition(
      conditions,
      conflicts.length
        ? { type: 'Conflict', status: 'True', reason: 'SelectedByOtherPolicies', message: conflicts.join('; '), observedGeneration: policy.metadata.generation }
        : {
            type: 'Conflict',
            status: 'False',
            reason: 'NoConflict',
            message: 'no client it selects is selected by another policy',
            observedGeneration: policy.metadata.generation,
          },
    );
    const status: KeyPolicyStatus = {
      observedGeneration: policy.metadata.generation,
      clientsGoverned: clients.length,
      ...(earliest !== undefined ? { nextRotation: rfc3339(earliest) } : {}),
      clients,
      conditions,
    };
    // The steady state writes nothing: the same status is not sent again.
    if (canonical(status) !== canonical(previous)) await this.deps.policies.patchStatus(policy, status);
  }
}

/** JSON with object keys sorted, so a status read back from the API server compares equal to the one written. */
function canonical(value: unknown): string {
  const sorted = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(sorted)
      : node && typeof node === 'object'
        ? Object.fromEntries(
            Object.keys(node)
              .sort()
              .map((key) => [key, sorted((node as Record<string, unknown>)[key])]),
          )
        : node;
  return JSON.stringify(sorted(value));
}

const names = (policies: KeyPolicyResource[]) => policies.map((policy) => policy.metadata.name).join(', ');
