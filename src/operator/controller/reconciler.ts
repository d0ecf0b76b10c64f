import { randomUUID } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { randomToken } from '../../crypto/random.js';
import { GatehouseApiError, GatehouseUnavailableError } from '../../sdk/errors.js';
import { withCondition, type ReadyReason } from '../api/conditions.js';
import { oauth2ClientSpec, type OAuth2ClientResource, type OAuth2ClientStatus } from '../api/oauth2client.js';
import { desiredClient, driftedFields, isPublic, ownerOf } from './desired.js';
import type { OAuth2Client } from '../../sdk/types.js';
import type { EventPort, ResourcePort, SecretPort, ServerApi, ServerPort } from './ports.js';
import { ServerSelectionError } from './ports.js';
import { controls, credentialsIn, desiredSecret, heldCredentialsIn, secretUpToDate, ORPHANED_FROM } from './secret.js';

export const FINALIZER = 'gatehouse.dev/client-cleanup';
/** How often a resource waiting for a user Secret looks again (Secrets it does not manage are not watched). */
export const WAIT_FOR_SECRET_MS = 5_000;

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** A failure that should be retried with backoff (the work queue's rate limiter decides when). */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

export interface ReconcilerDeps {
  resources: ResourcePort;
  secrets: SecretPort;
  servers: ServerPort;
  events: EventPort;
  newClientId?: () => string;
  /** Where new secrets come from; by default the server mints them (stored under its fast hash, not scrypt). */
  newSecret?: () => string;
}

type Outcome = { reason: ReadyReason; message: string; ready: boolean; requeueAfterMs?: number; retry?: boolean };

/**
 * Level-triggered: every call reads the resource, its Secret and the server's client, and does only what differs.
 * When nothing differs it writes nothing, to the API server or to the authorization server.
 */
export class OAuth2ClientReconciler {
  private readonly newClientId: () => string;
  private readonly newSecret: (api: ServerApi) => Promise<string>;

  constructor(private readonly deps: ReconcilerDeps) {
    this.newClientId = deps.newClientId ?? randomUUID;
    const { newSecret } = deps;
    this.newSecret = newSecret ? async () => newSecret() : mintedOrLocal;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const resource = this.deps.resources.get(key);
    if (!resource) return {};
    if (resource.metadata.deletionTimestamp) {
      try {
        await this.finalize(resource);
      } catch (error) {
        // Say why the resource hangs in deletion, and how to let it go, instead of retrying silently.
        const cause = this.describeFailure(error).message;
        const message = `cannot clean up client ${resource.status?.clientId ?? ''} on deletion: ${cause}; retrying (remove the finalizer ${FINALIZER} to give up)`;
        await this.writeStatus(resource, { ...resource.status }, { reason: 'Deleting', message, ready: false });
        throw new RetryableError(message);
      }
      return {};
    }
    const finalizers = resource.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) await this.deps.resources.setFinalizers(resource, [...finalizers, FINALIZER]);

    const status: OAuth2ClientStatus = { ...resource.status };
    let outcome: Outcome;
    try {
      outcome = await this.sync(resource, status);
    } catch (error) {
      outcome = this.describeFailure(error);
    }
    await this.writeStatus(resource, status, outcome);
    if (outcome.retry) throw new RetryableError(outcome.message);
    return outcome.requeueAfterMs ? { requeueAfterMs: outcome.requeueAfterMs } : {};
  }

  private async sync(resource: OAuth2ClientResource, status: OAuth2ClientStatus): Promise<Outcome> {
    const parsed = oauth2ClientSpec.safeParse(resource.spec);
    if (!parsed.success) {
      const message = parsed.error.issues.map((issue) => `${['spec', ...issue.path.map(String)].join('.')}: ${issue.message}`).join('; ');
      return { reason: 'InvalidSpec', message, ready: false };
    }
    const { api, endpoints } = await this.deps.servers.for(resource);
    const { namespace } = resource.metadata;
    const { secretName } = resource.spec;
    const existing = await this.deps.secrets.get(namespace, secretName);
    const renamedFrom = await this.renamedSecret(resource, existing, status);
    status.secretName = secretName;

    let clientId: string;
    let clientSecret: string | undefined;
    let secret: V1Secret;
    let secretCreated = false;
    let actual: OAuth2Client | undefined;
    if (resource.spec.existingSecret) {
      const found = credentialsIn(resource, existing);
      if (!existing || !found.clientSecret) {
        const what = existing ? `has no ${resource.spec.secretTemplate?.clientSecretKey ?? 'CLIENT_SECRET'} key` : 'does not exist yet';
        return {
          reason: 'WaitingForSecret',
          message: `Secret ${secretName} ${what}; waiting for it (existingSecret: true)`,
          ready: false,
          requeueAfterMs: WAIT_FOR_SECRET_MS,
        };
      }
      clientId = resource.spec.clientId ?? found.clientId ?? status.clientId ?? this.newClientId();
      actual = await api.findClient(clientId);
      if (actual && actual.owner !== ownerOf(resource)) return clientConflict(clientId, actual);
      clientSecret = found.clientSecret;
      secret = existing;
    } else {
      if (existing && !controls(resource, existing) && !this.mayAdopt(resource, existing)) {
        return {
          reason: 'SecretConflict',
          message: `Secret ${secretName} exists and was not created for this resource; set adoptSecret: true to take it over, or choose another secretName`,
          ready: false,
        };
      }
      const found = heldCredentialsIn(resource, existing ?? renamedFrom);
      clientId = resource.spec.clientId ?? status.clientId ?? found.clientId ?? this.newClientId();
      // Before anything is written: a client id that belongs to someone else must not end up in our Secret.
      actual = await api.findClient(clientId);
      if (actual && actual.owner !== ownerOf(resource)) return clientConflict(clientId, actual);
      clientSecret = isPublic(resource.spec) ? undefined : found.clientId === clientId && found.clientSecret ? found.clientSecret : await this.newSecret(api);
      secret = await this.ensureSecret(resource, existing, desiredSecret(resource, { clientId, clientSecret }, endpoints));
      secretCreated = !existing;
    }

    // A new resource's Secret and client get one Event together (an Event is an API-server write like any other);
    // a Secret re-created for an existing client, or whose client could not be created yet, gets its own.
    const secretEvent = () => this.deps.events.record(resource, 'Normal', 'SecretCreated', `created Secret ${secretName} with the client credentials`);
    if (secretCreated && actual) secretEvent();
    let clientCreated: boolean;
    try {
      if (renamedFrom) await this.deps.secrets.delete(namespace, renamedFrom.metadata!.name!);
      if (status.clientId && status.clientId !== clientId) await this.retireClient(resource, api, status.clientId);
      status.clientId = clientId;
      clientCreated = await this.syncServerClient(resource, api, actual, clientId, clientSecret, secret, status);
    } catch (error) {
      if (secretCreated && !actual) secretEvent();
      throw error;
    }
    if (clientCreated) {
      const credentials = secretCreated ? ` and Secret ${secretName} with its credentials` : '';
      this.deps.events.record(resource, 'Normal', 'Created', `created client ${clientId} on the server${credentials}`);
    }
    return { reason: 'Reconciled', message: `client ${clientId} is in line with the resource; credentials in Secret ${secretName}`, ready: true };
  }

  /** The Secret this resource used before spec.secretName changed, when it is ours: its credentials carry over. */
  private async renamedSecret(resource: OAuth2ClientResource, existing: V1Secret | undefined, status: OAuth2ClientStatus): Promise<V1Secret | undefined> {
    if (existing || !status.secretName || status.secretName === resource.spec.secretName || resource.spec.existingSecret) return undefined;
    const previous = await this.deps.secrets.get(resource.metadata.namespace, status.secretName);
    return previous && controls(resource, previous) ? previous : undefined;
  }

  /** The client id changed (spec.clientId added, or a user Secret's id): the old client of this resource goes. */
  private async retireClient(resource: OAuth2ClientResource, api: ServerApi, previousId: string): Promise<void> {
    const previous = await api.findClient(previousId);
    if (previous?.owner !== ownerOf(resource)) return;
    await api.deleteClient(previousId);
    this.deps.events.record(resource, 'Normal', 'Deleted', `deleted client ${previousId} from the server: the resource now uses another client id`);
  }

  private mayAdopt(resource: OAuth2ClientResource, secret: V1Secret): boolean {
    return Boolean(resource.spec.adoptSecret) || secret.metadata?.annotations?.[ORPHANED_FROM] === ownerOf(resource);
  }

  private async ensureSecret(resource: OAuth2ClientResource, existing: V1Secret | undefined, desired: V1Secret): Promise<V1Secret> {
    if (!existing) return this.deps.secrets.create(desired);
    if (controls(resource, existing) && secretUpToDate(existing, desired)) return existing;
    const merged: V1Secret = {
      ...existing,
      metadata: {
        ...existing.metadata,
        labels: { ...existing.metadata?.labels, ...desired.metadata?.labels },
        annotations: withoutKey({ ...existing.metadata?.annotations, ...desired.metadata?.annotations }, ORPHANED_FROM),
        ownerReferences: [...(existing.metadata?.ownerReferences ?? []).filter((ref) => !ref.controller), ...(desired.metadata?.ownerReferences ?? [])],
      },
      data: desired.data,
    };
    const replaced = await this.deps.secrets.replace(merged);
    this.deps.events.record(resource, 'Normal', 'SecretUpdated', `updated Secret ${resource.spec.secretName}`);
    return replaced;
  }

  /** Creates or corrects the server's client (already known not to belong to anyone else); whether it created it. */
  private async syncServerClient(
    resource: OAuth2ClientResource,
    api: ServerApi,
    actual: OAuth2Client | undefined,
    clientId: string,
    clientSecret: string | undefined,
    secret: V1Secret,
    status: OAuth2ClientStatus,
  ): Promise<boolean> {
    const desired = desiredClient(resource, clientId);
    // The Secret's identity and version stand for "the secret the server has": a changed Secret means push it again.
    const revision = `${secret.metadata?.uid ?? ''}/${secret.metadata?.resourceVersion ?? ''}`;
    const pushSecret = Boolean(clientSecret) && status.secretRevision !== revision;
    if (!actual) {
      await api.createClient({ ...desired, ...(clientSecret ? { client_secret: clientSecret } : {}) });
      // Only once the server has it: a create whose answer was lost must push the secret again.
      status.secretRevision = revision;
      return true;
    }
    const drift = driftedFields(desired, actual);
    if (drift.length || pushSecret) {
      await api.updateClient(clientId, { ...desired, ...(pushSecret && clientSecret ? { client_secret: clientSecret } : {}) });
      const what = [drift.length ? `corrected ${drift.join(', ')}` : '', pushSecret ? 'set the secret from the Secret' : ''].filter(Boolean).join('; ');
      this.deps.events.record(resource, 'Normal', 'Updated', `updated client ${clientId} on the server: ${what}`);
    }
    status.secretRevision = revision;
    return false;
  }

  private describeFailure(error: unknown): Outcome {
    if (error instanceof ServerSelectionError) return { reason: 'InvalidSpec', message: error.message, ready: false, requeueAfterMs: 30_000 };
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof GatehouseApiError) {
      if (error.status === 400) return { reason: 'InvalidSpec', message: `the server refused the client: ${message}`, ready: false };
      if (error.status === 409) return { reason: 'ClientConflict', message: `the server already has this client id: ${message}`, ready: false, retry: true };
      // 429 and 5xx pass; other 4xx mean the operator's own client is refused, which needs a person.
      if (error.status < 500 && error.status !== 429)
        return { reason: 'ServerRejected', message: `the server refused the operator's request: ${message}`, ready: false, retry: true };
      return { reason: 'ServerUnavailable', message: `the authorization server is unavailable: ${message}`, ready: false, retry: true };
    }
    if (error instanceof GatehouseUnavailableError)
      return { reason: 'ServerUnavailable', message: `the authorization server is unavailable: ${message}`, ready: false, retry: true };
    return { reason: 'KubernetesError', message: `a Kubernetes API call failed: ${message}`, ready: false, retry: true };
  }

  private async writeStatus(resource: OAuth2ClientResource, status: OAuth2ClientStatus, outcome: Outcome): Promise<void> {
    const generation = resource.metadata.generation;
    const next: OAuth2ClientStatus = {
      ...status,
      observedGeneration: generation,
      conditions: withCondition(resource.status?.conditions, {
        type: 'Ready',
        status: outcome.ready ? 'True' : 'False',
        reason: outcome.reason,
        message: outcome.message,
        observedGeneration: generation,
      }),
    };
    if (JSON.stringify(normalize(next)) === JSON.stringify(normalize(resource.status ?? {}))) return;
    const before = resource.status?.conditions?.find((c) => c.type === 'Ready');
    if (!outcome.ready && (before?.reason !== outcome.reason || before?.message !== outcome.message)) {
      this.deps.events.record(resource, outcome.reason === 'WaitingForSecret' ? 'Normal' : 'Warning', outcome.reason, outcome.message);
    }
    await this.deps.resources.patchStatus(resource, next);
  }

  private async finalize(resource: OAuth2ClientResource): Promise<void> {
    const finalizers = resource.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    const clientId = resource.status?.clientId;
    const orphan = resource.spec.deletionPolicy === 'orphan';
    if (clientId && !orphan) {
      const { api } = await this.deps.servers.for(resource);
      const actual = await api.findClient(clientId);
      if (actual && actual.owner === ownerOf(resource)) {
        await api.deleteClient(clientId);
        this.deps.events.record(resource, 'Normal', 'Deleted', `deleted client ${clientId} from the server`);
      }
    }
    await this.releaseSecret(resource, orphan);
    await this.deps.resources.setFinalizers(
      resource,
      finalizers.filter((f) => f !== FINALIZER),
    );
  }

  /**
   * delete: the Secret goes with the resource (done here, not left to garbage collection, so it also happens on
   * clusters without it). orphan: the Secret stays, released from the resource and marked so that the same
   * resource applied again takes it back.
   */
  private async releaseSecret(resource: OAuth2ClientResource, orphan: boolean): Promise<void> {
    const { namespace } = resource.metadata;
    const secret = await this.deps.secrets.get(namespace, resource.spec.secretName);
    if (!secret || !controls(resource, secret)) return;
    if (!orphan) {
      await this.deps.secrets.delete(namespace, resource.spec.secretName);
      return;
    }
    await this.deps.secrets.replace({
      ...secret,
      metadata: {
        ...secret.metadata,
        annotations: { ...secret.metadata?.annotations, [ORPHANED_FROM]: ownerOf(resource) },
        ownerReferences: (secret.metadata?.ownerReferences ?? []).filter((ref) => ref.uid !== resource.metadata.uid),
      },
    });
  }
}

/**
 * A secret minted by the server (stored there under its fast hash), or generated here when the server has no minting
 * call (an older Gatehouse, or another Hydra-compatible server a resource names): it then costs an scrypt there.
 */
async function mintedOrLocal(api: ServerApi): Promise<string> {
  try {
    return await api.mintClientSecret();
  } catch (error) {
    if (error instanceof GatehouseApiError && (error.status === 404 || error.status === 405)) return randomToken(32);
    throw error;
  }
}

function clientConflict(clientId: string, actual: OAuth2Client): Outcome {
  return {
    reason: 'ClientConflict',
    message: `client ${clientId} on the server belongs to "${actual.owner || '(no owner)'}", not to this resource; it is left untouched`,
    ready: false,
  };
}

function withoutKey(map: Record<string, string>, key: string): Record<string, string> {
  const { [key]: _removed, ...rest } = map;
  return rest;
}

/** Status as compared for "did anything change": key order must not matter. */
function normalize(status: OAuth2ClientStatus): unknown {
  return {
    observedGeneration: status.observedGeneration,
    clientId: status.clientId,
    secretName: status.secretName,
    secretRevision: status.secretRevision,
    conditions: [...(status.conditions ?? [])]
      .sort((a, b) => a.type.localeCompare(b.type))
      .map((c) => ({
        type: c.type,
        status: c.status,
        observedGeneration: c.observedGeneration,
        lastTransitionTime: c.lastTransitionTime,
        reason: c.reason,
        message: c.message,
      })),
  };
}
