import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { MAX_SECRET_GRACE_SECONDS } from '../../contract/client.js';
import { rfc3339, ROTATED_AT, ROTATION_ANSWERED } from '../api/common.js';
import { withCondition, withProgressConditions } from '../api/conditions.js';
import { ROTATE_ANNOTATION, type KeyPolicyStatus } from '../api/keypolicy.js';
import type { OAuth2ClientResource } from '../api/oauth2client.js';
import { desiredClient, isPublic, ownerOf } from '../controller/desired.js';
import type { EventPort, SecretPort, ServerPort } from '../controller/ports.js';
import { controls, decode, heldKeysOf } from '../controller/secret.js';
import type { RotationMetrics, RotationReason } from './metrics.js';
import { byPrecedence, durationsOf, rotationDue, rotationStateOf, selects, type KeyPolicyResource, type RotationState } from './decide.js';

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

/**
 * How long the secret being replaced stays valid until the Secret holds the new one: the longest the server allows.
 * An operator that dies in between, for however long, locks nobody out; once the Secret is written, the grace period
 * is counted from then.
 */
const HOLD_SECONDS = MAX_SECRET_GRACE_SECONDS;
/** How long after a rotation a grace period that was never shortened (a crash right after the Secret) is looked for. */
const SHORTENING_CHECK_MS = 3_600_000;

/** Rotations of one policy run this many at a time. */
const ROTATIONS_IN_FLIGHT = 8;

/** Never wait longer than this before looking again: a long interval still gets a fresh look daily. */
const MAX_REQUEUE_MS = 24 * 3_600_000;
const MIN_REQUEUE_MS = 1_000;

/**
 * One KeyPolicy: finds the clients it governs (selected, and not won by an older policy), replaces the secret of each
 * whose time has come, and reports them in its status. A rotation is: a secret minted by the server; the server told
 * to take it while the secret the Secret holds stays valid (named, and for as long as the server allows); the Secret
 * updated; the old secret's life shortened to the grace period, counted from now; then the status. A crash before
 * the Secret is written leaves the old secret working and the rotation still due, so the next reconcile starts again
 * from the secret the application holds; a crash after it leaves the old secret valid for longer than asked, which
 * the next reconcile corrects.
 */
export class KeyPolicyReconciler {
  private readonly now: () => number;
  /** Rotations whose old secret this process knows to have the right end (`<client uid>@<rotated at>`). */
  private readonly shortened = new Set<string>();
  /**
   * When this process last rotated each client (by uid). Two policies may reconcile at once (a client moving from one
   * to another is both a release and a new selection), and the second reads the Secret from a cache that may not show
   * the first's rotation yet: it would send a stale secret as the previous one, and the server would drop the secret
   * applications hold. Rotations of one client are therefore run one at a time (clientTurns), and each decides from
   * this record as well as from the Secret.
   */
  private readonly rotatedHere = new Map<string, number>();
  private readonly clientTurns = new Map<string, Promise<void>>();

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
    const nextRotations: { name: string; seconds: number }[] = [];
    let earliest: number | undefined;
    const now = this.now();

    const selected = this.deps.clients.list(namespace).filter((client) => selects(policy.spec.selector, client.metadata.labels));
    const mine: OAuth2ClientResource[] = [];
    for (const client of selected.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
      const competing = rivals.filter((other) => selects(other.spec.selector, client.metadata.labels));
      const winner: KeyPolicyResource = [policy, ...competing].sort(byPrecedence)[0]!;
      if (competing.length) {
        const governs = winner === policy ? 'this policy' : winner.metadata.name;
        conflicts.push(`${client.metadata.name} is also selected by ${names(competing)}; ${governs} governs it (the oldest)`);
      }
      if (winner === policy) mine.push(client);
    }
    // A few clients at a time (a policy over a thousand clients rotates them together); one client's failure does not
    // hold up the others.
    const outcomes = await inParallel(mine, ROTATIONS_IN_FLIGHT, async (client) => {
      try {
        return { entry: await this.inTurn(client, () => this.keepRotated(policy, client, { intervalMs, graceMs }, now)) };
      } catch (error) {
        return { failure: `${client.metadata.name}: ${(error as Error).message}` };
      }
    });
    const finishedAt = this.now();
    for (const outcome of outcomes) {
      if (outcome.failure !== undefined) {
        failures.push(outcome.failure);
        this.deps.metrics?.failed(namespace, policy.metadata.name);
      } else if (outcome.entry) {
        governed.push(outcome.entry.status);
        const { nextAt } = outcome.entry;
        if (nextAt !== undefined) {
          earliest = earliest === undefined ? nextAt : Math.min(earliest, nextAt);
          nextRotations.push({ name: outcome.entry.status.name, seconds: Math.max(0, Math.round((nextAt - finishedAt) / 1000)) });
        }
      }
    }
    const releases = await this.releaseLeavers(policy, selected, graceMs, now, failures);
    if (releases.wakeAt !== undefined) earliest = earliest === undefined ? releases.wakeAt : Math.min(earliest, releases.wakeAt);
    this.deps.metrics?.nextRotations(namespace, policy.metadata.name, nextRotations);
    await this.writeStatus(policy, [...governed, ...releases.pending], earliest, conflicts, failures);
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
    const found = await this.rotatable(client);
    if (!found) return undefined;
    const { secret, clientId, held, secretKey } = found;
    const state = this.rotationState(client, secret);
    const requested = client.metadata.annotations?.[ROTATE_ANNOTATION];
    let decision = rotationDue(state, requested, durations.intervalMs, now);
    // The server keeps one previous secret: a rotation inside the last one's grace period would cut that short for
    // whoever has not read the Secret since. An early request waits for the grace period to end.
    if (decision.due && state.rotated && now < state.rotatedAt + durations.graceMs) decision = { due: false, nextAt: state.rotatedAt + durations.graceMs };
    if (!decision.due) await this.finishShortening(client, clientId, held, state.rotatedAt, durations.graceMs, now);
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

  /** Runs work for one client after any other policy's work for it in this process has finished. */
  private async inTurn<T>(client: OAuth2ClientResource, work: () => Promise<T>): Promise<T> {
    const key = client.metadata.uid ?? `${client.metadata.namespace}/${client.metadata.name}`;
    const before = this.clientTurns.get(key) ?? Promise.resolve();
    let finished: () => void = () => {};
    const turn = before.then(() => new Promise<void>((resolve) => (finished = resolve)));
    this.clientTurns.set(key, turn);
    await before;
    try {
      return await work();
    } finally {
      finished();
      if (this.clientTurns.get(key) === turn) this.clientTurns.delete(key);
    }
  }

  /** The Secret's rotation state, or this process's own later rotation that the cache may not show yet. */
  private rotationState(client: OAuth2ClientResource, secret: V1Secret): RotationState {
    const state = rotationStateOf(secret);
    const here = client.metadata.uid === undefined ? undefined : this.rotatedHere.get(client.metadata.uid);
    return here !== undefined && (!state.rotated || here > state.rotatedAt) ? { ...state, rotated: true, rotatedAt: here } : state;
  }

  /**
   * The client's Secret and credentials when a policy may rotate them: a confidential client (a public one has no
   * secret; an existingSecret one's secret is the user's to rotate) whose Secret this OAuth2Client controls, so that
   * a resource naming someone else's Secret cannot have it rotated.
   */
  private async rotatable(client: OAuth2ClientResource): Promise<{ secret: V1Secret; clientId: string; held: string; secretKey: string } | undefined> {
    if (isPublic(client.spec) || client.spec.existingSecret) return undefined;
    const secret = await this.deps.secrets.get(client.metadata.namespace, client.spec.secretName);
    if (!secret || !controls(client, secret)) return undefined;
    const { idKey, secretKey } = heldKeysOf(client, secret);
    const clientId = decode(secret, idKey);
    const held = decode(secret, secretKey);
    // The id the OAuth2Client controller registered, not just what the Secret says (anyone who may edit the Secret could
    // point it at another client).
    if (!clientId || !held || clientId !== client.status?.clientId) return undefined;
    return { secret, clientId, held, secretKey };
  }

  private async rotate(
    policy: KeyPolicyResource,
    client: OAuth2ClientResource,
    secret: V1Secret,
    what: { clientId: string; held: string; secretKey: string; graceMs: number; answered: string | undefined },
    now: number,
  ): Promise<void> {
    const { api } = await this.deps.servers.for(client);
    // Only a client this resource owns on the server, as the OAuth2Client controller itself checks.
    const onServer = await api.findClient(what.clientId);
    if (onServer?.owner !== ownerOf(client)) throw new Error(`the server's client ${what.clientId} does not belong to this OAuth2Client`);
    const fresh = await api.mintClientSecret();
    const graceSeconds = Math.max(1, Math.ceil(what.graceMs / 1000));
    // The secret the Secret holds is named, not left to the server: after a crash that lost a secret the server took,
    // it is still the one the application has.
    await api.updateClient(what.clientId, {
      ...desiredClient(client, what.clientId),
      client_secret: fresh,
      client_secret_grace_period: HOLD_SECONDS,
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
    // The secret sent is the one the client has now: only the old one's end moves, to the grace period from now.
    await api.updateClient(what.clientId, { ...desiredClient(client, what.clientId), client_secret: fresh, client_secret_grace_period: graceSeconds });
    this.noteShortened(client, Date.parse(rfc3339(now)));
    if (client.metadata.uid !== undefined) {
      if (this.rotatedHere.size >= 100_000) this.rotatedHere.clear();
      this.rotatedHere.set(client.metadata.uid, Date.parse(rfc3339(now)));
    }
    this.deps.events.record(
      client,
      'Normal',
      'SecretRotated',
      `rotated the client secret (KeyPolicy ${policy.metadata.name}); the previous one works until ${rfc3339(now + graceSeconds * 1000)}`,
    );
  }

  /**
   * After a crash between writing the Secret and shortening the old secret's life, the old secret would stay valid
   * for the whole hold: shortened now to what is left of the grace period. Looked for only in the hour after a
   * rotation, and once per rotation and process (a rotation this process finished is known), so the steady state
   * reads nothing from the server.
   */
  private async finishShortening(client: OAuth2ClientResource, clientId: string, held: string, rotatedAt: number, graceMs: number, now: number): Promise<void> {
    if (now - rotatedAt > graceMs + SHORTENING_CHECK_MS || this.shortened.has(`${client.metadata.uid}@${rotatedAt}`)) return;
    const { api } = await this.deps.servers.for(client);
    const onServer = await api.findClient(clientId);
    // As in rotate: only a client this resource owns on the server.
    if (onServer?.owner !== ownerOf(client)) return;
    const expiresAt = onServer.previous_client_secret_expires_at;
    if (expiresAt !== undefined && expiresAt * 1000 > rotatedAt + graceMs + 60_000) {
      const left = Math.max(1, Math.ceil((rotatedAt + graceMs - now) / 1000));
      await api.updateClient(clientId, { ...desiredClient(client, clientId), client_secret: held, client_secret_grace_period: left });
    }
    this.noteShortened(client, rotatedAt);
  }

  private noteShortened(client: OAuth2ClientResource, rotatedAt: number): void {
    // Bounded: forgetting only costs one more read.
    if (this.shortened.size >= 100_000) this.shortened.clear();
    this.shortened.add(`${client.metadata.uid}@${rotatedAt}`);
  }

  /** With whenReleased: rotate, a client that left the selection gets one fresh secret, so none this policy issued outlives its rule. */
  /**
   * Rotates each client that left the selection since the last status, once: a client whose Secret was rotated after
   * the time the status recorded for it (by this release, read back from a cache that has not seen the status yet,
   * or by another policy) is left alone. The entries of releases that failed, to be kept in the status for a retry.
   */
  private async releaseLeavers(
    policy: KeyPolicyResource,
    selected: OAuth2ClientResource[],
    graceMs: number,
    now: number,
    failures: string[],
  ): Promise<{ pending: NonNullable<KeyPolicyStatus['clients']>; wakeAt?: number }> {
    if (policy.spec.whenReleased !== 'rotate') return { pending: [] };
    const still = new Set(selected.map((client) => client.metadata.name));
    const leavers = (policy.status?.clients ?? []).filter((entry) => !still.has(entry.name));
    const pending: NonNullable<KeyPolicyStatus['clients']> = [];
    let wakeAt: number | undefined;
    for (const entry of leavers) {
      const client = this.deps.clients.list(policy.metadata.namespace).find((candidate) => candidate.metadata.name === entry.name);
      try {
        if (!client) continue;
        const outcome = await this.inTurn(client, async () => {
          const found = await this.rotatable(client);
          if (!found) return 'done';
          const state = this.rotationState(client, found.secret);
          if (state.rotated && state.rotatedAt > Date.parse(entry.lastRotation ?? '')) return 'done';
          // As on the schedule: the previous rotation's grace period runs out first, or the secret it left applications
          // would stop working early. Kept in the status until then.
          if (state.rotated && now < state.rotatedAt + graceMs) return { until: state.rotatedAt + graceMs };
          await this.rotate(policy, client, found.secret, { ...found, graceMs, answered: state.answered }, now);
          this.deps.metrics?.rotated(client.metadata.namespace, policy.metadata.name, 'released' satisfies RotationReason);
          return 'done';
        });
        if (outcome !== 'done') {
          pending.push(entry);
          wakeAt = wakeAt === undefined ? outcome.until : Math.min(wakeAt, outcome.until);
        }
      } catch (error) {
        failures.push(`releasing ${entry.name}: ${(error as Error).message}`);
        this.deps.metrics?.failed(policy.metadata.namespace, policy.metadata.name);
        pending.push(entry);
      }
    }
    return { pending, wakeAt };
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
    conditions = withProgressConditions(conditions, {
      ready: failures.length === 0,
      // Failed rotations are retried by the operator itself.
      stalled: false,
      reason: 'RotationFailed',
      message: `retrying: ${failures.join('; ')}`,
      observedGeneration: generation,
    });
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

/** Runs `work` over the items with at most `limit` in flight; results in the items' order. */
async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const names = (policies: KeyPolicyResource[]) => policies.map((policy) => policy.metadata.name).join(', ');
