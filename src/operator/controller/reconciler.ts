import { randomUUID } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { randomToken } from '../../crypto/random.js';
import { GatehouseApiError } from '../../sdk/errors.js';
import { oauth2ClientSpec, type OAuth2ClientResource, type OAuth2ClientStatus } from '../api/oauth2client.js';
import { desiredClient, driftedFields, isPublic, ownerOf } from './desired.js';
import type { OAuth2Client } from '../../sdk/types.js';
import type { EventPort, ResourcePort, SecretPort, ServerApi, ServerPort } from './ports.js';
import { ORPHANED_FROM } from '../api/common.js';
import { controlledByAnother, controls, desiredSecret, heldCredentialsIn, secretUpToDate, userCredentialsIn, MANAGED_BY, MANAGED_BY_LABEL } from './secret.js';
import { clientConflict, conditionsAfter, describeFailure, normalize, type Outcome } from './outcome.js';
import { WARNINGS_CONDITION } from './warnings.js';

export const FINALIZER = 'gatehouse.dev/client-cleanup';
/** How often a resource waiting for a user Secret looks again; the Secret watch usually answers first. */
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
        const cause = describeFailure(error).message;
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
      outcome = describeFailure(error);
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
    // hydra-maester's pattern: a Secret the user created with the credentials before the resource. It is used as if
    // existingSecret were set (read, never written), instead of ending in SecretConflict.
    // A Secret the operator wrote for another resource (its label, or released by one) stays a conflict.
    const preCreated =
      !resource.spec.existingSecret &&
      existing &&
      !controls(resource, existing) &&
      !this.mayAdopt(resource, existing) &&
      existing.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY &&
      !controlledByAnother(resource, existing) &&
      !existing.metadata?.annotations?.[ORPHANED_FROM] &&
      Boolean(userCredentialsIn(resource, existing).clientSecret);
    // Once the user's, the Secret stays the user's while it is gone (deleted to be re-created, say): making one of our
    // own would mint a new secret and lock out whoever holds theirs.
    const userProvided = Boolean(resource.spec.existingSecret || preCreated || (status.userSecret && !existing && !resource.spec.adoptSecret));
    // false, not absent, once it was true: a merge patch leaves out what is undefined, so true would stay.
    // And false stays false: turning it back into undefined would differ from the stored false on every reconcile.
    status.userSecret = userProvided ? true : status.userSecret !== undefined ? false : undefined;
    const renamedFrom = await this.renamedSecret(resource, existing, status);
    const previousSecretName = status.secretName;
    status.secretName = secretName;

    let clientId: string;
    let clientSecret: string | undefined;
    let secret: V1Secret;
    let secretCreated = false;
    let actual: OAuth2Client | undefined;
    if (userProvided) {
      const found = userCredentialsIn(resource, existing);
      if (!existing || !found.clientSecret) {
        const what = existing ? `has no ${resource.spec.secretTemplate?.clientSecretKey ?? 'CLIENT_SECRET'} key` : 'does not exist yet';
        const why = resource.spec.existingSecret
          ? 'existingSecret: true'
          : 'the client’s credentials come from it; set adoptSecret: true to let the operator make its own';
        return {
          reason: 'WaitingForSecret',
          message: `Secret ${secretName} ${what}; waiting for it (${why})`,
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
        // The credentials stay where they are: a later rename must carry them over from there, not from this name.
        status.secretName = previousSecretName;
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
      if (userProvided && error instanceof GatehouseApiError && error.status === 400 && /client_secret/.test(error.message)) {
        return {
          reason: 'SecretRefused',
          message: `the server refused the client secret in Secret ${secretName}: ${error.message}; correct the Secret (it is watched) and the client follows`,
          ready: false,
        };
      }
      throw error;
    }
    if (clientCreated) this.recordCreated(resource, clientId, secretCreated);
    const whose = preCreated ? ` (created before the resource, used as it is: the operator never writes it)` : '';
    return { reason: 'Reconciled', message: `client ${clientId} is in line with the resource; credentials in Secret ${secretName}${whose}`, ready: true };
  }

  /**
   * A client created where the resource had one before (its status holds the id and the revision pushed to it) was
   * deleted on the server by someone else: it is restored, and said so, rather than reported as new.
   */
  private recordCreated(resource: OAuth2ClientResource, clientId: string, secretCreated: boolean): void {
    const before = resource.status;
    if (before?.clientId === clientId && before.secretRevision !== undefined) {
      this.deps.events.record(
        resource,
        'Normal',
        'Restored',
        `re-created client ${clientId} on the server, where it had been deleted; the credentials are unchanged`,
      );
      return;
    }
    const credentials = secretCreated ? ` and Secret ${resource.spec.secretName} with its credentials` : '';
    this.deps.events.record(resource, 'Normal', 'Created', `created client ${clientId} on the server${credentials}`);
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

  /**
   * adoptSecret takes over a Secret the operator did not make for any resource, never one another OAuth2Client
   * controls: that would hand this client's credentials to the other's applications.
   */
  private mayAdopt(resource: OAuth2ClientResource, secret: V1Secret): boolean {
    if (secret.metadata?.annotations?.[ORPHANED_FROM] === ownerOf(resource)) return true;
    return Boolean(resource.spec.adoptSecret) && !controlledByAnother(resource, secret);
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
    if (controls(resource, existing)) this.deps.events.record(resource, 'Normal', 'SecretUpdated', `updated Secret ${resource.spec.secretName}`);
    else {
      const why = existing.metadata?.annotations?.[ORPHANED_FROM] === ownerOf(resource) ? 'it released with deletionPolicy: orphan' : 'adoptSecret: true';
      this.deps.events.record(resource, 'Normal', 'Adopted', `took over Secret ${resource.spec.secretName} (${why})`);
    }
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

  private async writeStatus(resource: OAuth2ClientResource, status: OAuth2ClientStatus, outcome: Outcome): Promise<void> {
    const { conditions, warnings } = conditionsAfter(resource, outcome);
    const next: OAuth2ClientStatus = { ...status, observedGeneration: resource.metadata.generation, conditions };
    const warnedBefore = resource.status?.conditions?.find((c) => c.type === WARNINGS_CONDITION)?.message;
    for (const warning of warnings) if (!warnedBefore?.includes(warning.message)) this.deps.events.record(resource, 'Warning', warning.reason, warning.message);
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
    // The status names the client once it was written; a resource deleted after its client was created but before
    // that write still has the id in the Secret it controls (or in its spec). The owner check below keeps either safe.
    const clientId = resource.status?.clientId ?? resource.spec.clientId ?? (await this.heldClientId(resource));
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
    if (orphan && clientId) {
      this.deps.events.record(
        resource,
        'Normal',
        'Orphaned',
        `left client ${clientId} on the server and Secret ${resource.spec.secretName} in place (deletionPolicy: orphan); applying this resource again takes them back`,
      );
    }
    await this.deps.resources.setFinalizers(
      resource,
      finalizers.filter((f) => f !== FINALIZER),
    );
  }

  private async heldClientId(resource: OAuth2ClientResource): Promise<string | undefined> {
    const secret = await this.deps.secrets.get(resource.metadata.namespace, resource.spec.secretName);
    return secret && controls(resource, secret) ? heldCredentialsIn(resource, secret).clientId : undefined;
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

function withoutKey(map: Record<string, string>, key: string): Record<string, string> {
  const { [key]: _removed, ...rest } = map;
  return rest;
}
