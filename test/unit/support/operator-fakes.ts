import { randomBytes } from 'node:crypto';
/**
 * In-memory stand-ins for the reconciler's ports (src/operator/controller/ports.ts). They behave like the real
 * things where the reconciler's decisions depend on it, and record every write so tests can assert "exactly these
 * writes" and, above all, "no write at all":
 * - the resource store applies status as a JSON merge patch (what KubeResourcePort sends) and removes a resource
 *   being deleted once its last finalizer is gone, as the API server does;
 * - the Secret store assigns uid and resourceVersion, bumps resourceVersion on every write and refuses a replace
 *   with a stale resourceVersion (409), as the API server does;
 * - the server validates and normalises bodies with the server's own zod schema (dedupes lists, defaults, refuses a
 *   secret on a public client) and keeps the stored secret on an update without one, as src/server/client does.
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { OAuth2ClientResource, OAuth2ClientSpec, OAuth2ClientStatus } from '../../../src/operator/api/oauth2client.js';
import type { EventPort, ResourcePort, SecretPort, ServerApi, ServerPort } from '../../../src/operator/controller/ports.js';
import { OAuth2ClientReconciler } from '../../../src/operator/controller/reconciler.js';
import type { ServerEndpoints } from '../../../src/operator/controller/secret.js';
import { GatehouseApiError } from '../../../src/sdk/errors.js';
import type { OAuth2Client, OAuth2ClientInput } from '../../../src/sdk/types.js';
import { clientInputSchema } from '../../../src/contract/client.js';

export interface Write {
  op: string;
  target: string;
  body?: unknown;
}

const clone = <T>(value: T): T => structuredClone(value);

/** Every write of every fake, in the order they happened ("secret.create team-a/x", "server.updateClient id", …). */
export type Journal = string[];

export function keyOf(resource: Pick<OAuth2ClientResource, 'metadata'>): string {
  return `${resource.metadata.namespace}/${resource.metadata.name}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Resources

export interface ResourceOptions {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  finalizers?: string[];
  deletionTimestamp?: string;
  status?: OAuth2ClientStatus;
}

export const DEFAULT_SPEC: OAuth2ClientSpec = {
  clientName: 'Shop backend',
  grantTypes: ['client_credentials'],
  scope: 'orders:read orders:write',
  secretName: 'shop-credentials',
};

/** A spec as written in a manifest: the template's key names may be left out (the CRD defaults them). */
export type SpecInput = Partial<Omit<OAuth2ClientSpec, 'secretTemplate'>> & { secretTemplate?: Partial<NonNullable<OAuth2ClientSpec['secretTemplate']>> };

/**
 * A tiny builder: an OAuth2Client as the API server stores it after `kubectl apply`, before the operator touched it
 * (with the CRD's defaults for the Secret template's key names filled in).
 */
export function oauth2Client(input: SpecInput = {}, options: ResourceOptions = {}): OAuth2ClientResource {
  const { secretTemplate, ...rest } = input;
  const spec: OAuth2ClientSpec = { ...DEFAULT_SPEC, ...rest };
  if (secretTemplate) spec.secretTemplate = { clientIdKey: 'CLIENT_ID', clientSecretKey: 'CLIENT_SECRET', ...secretTemplate };
  const resource: OAuth2ClientResource = {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'OAuth2Client',
    metadata: {
      name: options.name ?? 'shop',
      namespace: options.namespace ?? 'team-a',
      uid: options.uid ?? 'uid-shop-1',
      generation: options.generation ?? 1,
      ...(options.finalizers ? { finalizers: options.finalizers } : {}),
      ...(options.deletionTimestamp ? { deletionTimestamp: options.deletionTimestamp } : {}),
    },
    spec,
  };
  if (options.status) resource.status = options.status;
  return resource;
}

export class FakeResources implements ResourcePort {
  readonly writes: Write[] = [];

  constructor(private readonly journal: Journal = []) {}

  private readonly store = new Map<string, OAuth2ClientResource>();
  private revision = 1000;

  /** What `kubectl apply` does (not an operator write). */
  apply(resource: OAuth2ClientResource): void {
    this.store.set(keyOf(resource), { ...clone(resource), metadata: { ...clone(resource.metadata), resourceVersion: String(++this.revision) } });
  }

  /** A user edit of the spec: the API server bumps generation. */
  editSpec(key: string, change: (spec: OAuth2ClientSpec) => void): void {
    const resource = this.mustGet(key);
    change(resource.spec);
    resource.metadata.generation = (resource.metadata.generation ?? 1) + 1;
    resource.metadata.resourceVersion = String(++this.revision);
  }

  /** `kubectl delete`: with finalizers the object stays, marked for deletion. */
  markDeleted(key: string, at = '2025-01-01T00:00:00Z'): void {
    const resource = this.mustGet(key);
    if (!resource.metadata.finalizers?.length) {
      this.store.delete(key);
      return;
    }
    resource.metadata.deletionTimestamp = at;
    resource.metadata.resourceVersion = String(++this.revision);
  }

  /** The stored object itself, for assertions. */
  current(key: string): OAuth2ClientResource | undefined {
    return this.store.get(key);
  }

  get(key: string): OAuth2ClientResource | undefined {
    const found = this.store.get(key);
    return found && clone(found);
  }

  /** Thrown by patchStatus while set (an API server that refuses or loses the write). */
  statusPatchFailure: unknown;

  async patchStatus(resource: OAuth2ClientResource, status: OAuth2ClientStatus): Promise<void> {
    if (this.statusPatchFailure !== undefined) throw this.statusPatchFailure;
    const key = keyOf(resource);
    this.note({ op: 'patchStatus', target: key, body: clone(status) });
    const stored = this.mustGet(key);
    // JSON merge patch: keys present replace, keys absent are kept, arrays (conditions) are replaced whole.
    const defined = JSON.parse(JSON.stringify(status)) as OAuth2ClientStatus;
    stored.status = { ...stored.status, ...defined };
    stored.metadata.resourceVersion = String(++this.revision);
  }

  async setFinalizers(resource: OAuth2ClientResource, finalizers: string[]): Promise<void> {
    const key = keyOf(resource);
    this.note({ op: 'setFinalizers', target: key, body: [...finalizers] });
    const stored = this.mustGet(key);
    stored.metadata.finalizers = [...finalizers];
    stored.metadata.resourceVersion = String(++this.revision);
    if (stored.metadata.deletionTimestamp && finalizers.length === 0) this.store.delete(key);
  }

  private note(write: Write): void {
    this.writes.push(write);
    this.journal.push(`resource.${write.op} ${write.target}`);
  }

  private mustGet(key: string): OAuth2ClientResource {
    const found = this.store.get(key);
    if (!found) throw Object.assign(new Error(`oauth2clients "${key}" not found`), { code: 404 });
    return found;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets

export const b64 = (value: string): string => Buffer.from(value).toString('base64');
export const unb64 = (value: string | undefined): string | undefined => (value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8'));

export class FakeSecrets implements SecretPort {
  readonly writes: Write[] = [];

  constructor(private readonly journal: Journal = []) {}

  private readonly store = new Map<string, V1Secret>();
  private revision = 5000;
  private uids = 0;

  /** A Secret someone else created (a user, External Secrets, …): not an operator write. */
  put(secret: V1Secret): V1Secret {
    const stored = this.stamp(clone(secret), true);
    this.store.set(this.key(secret.metadata!.namespace!, secret.metadata!.name!), stored);
    return clone(stored);
  }

  /** Someone edits the Secret (kubectl edit): resourceVersion changes, uid stays. */
  userEdit(namespace: string, name: string, change: (secret: V1Secret) => void): void {
    const stored = this.store.get(this.key(namespace, name));
    if (!stored) throw new Error(`no Secret ${namespace}/${name}`);
    change(stored);
    stored.metadata!.resourceVersion = String(++this.revision);
  }

  /** Someone deletes the Secret (not an operator write). */
  userDelete(namespace: string, name: string): void {
    this.store.delete(this.key(namespace, name));
  }

  current(namespace: string, name: string): V1Secret | undefined {
    return this.store.get(this.key(namespace, name));
  }

  async get(namespace: string, name: string): Promise<V1Secret | undefined> {
    const found = this.store.get(this.key(namespace, name));
    return found && clone(found);
  }

  async create(secret: V1Secret): Promise<V1Secret> {
    const key = this.key(secret.metadata!.namespace!, secret.metadata!.name!);
    this.note({ op: 'create', target: key, body: clone(secret) });
    if (this.store.has(key)) throw Object.assign(new Error(`secrets "${secret.metadata!.name}" already exists`), { code: 409 });
    const stored = this.stamp(clone(secret), true);
    this.store.set(key, stored);
    return clone(stored);
  }

  async replace(secret: V1Secret): Promise<V1Secret> {
    const key = this.key(secret.metadata!.namespace!, secret.metadata!.name!);
    this.note({ op: 'replace', target: key, body: clone(secret) });
    const stored = this.store.get(key);
    if (!stored) throw Object.assign(new Error(`secrets "${secret.metadata!.name}" not found`), { code: 404 });
    const sentVersion = secret.metadata?.resourceVersion;
    if (sentVersion && sentVersion !== stored.metadata?.resourceVersion) {
      throw Object.assign(new Error('the object has been modified; please apply your changes to the latest version'), { code: 409 });
    }
    const next = clone(secret);
    next.metadata = { ...next.metadata, uid: stored.metadata!.uid!, creationTimestamp: stored.metadata!.creationTimestamp! };
    const replaced = this.stamp(next, false);
    this.store.set(key, replaced);
    return clone(replaced);
  }

  async delete(namespace: string, name: string): Promise<void> {
    this.note({ op: 'delete', target: this.key(namespace, name) });
    this.store.delete(this.key(namespace, name));
  }

  private note(write: Write): void {
    this.writes.push(write);
    this.journal.push(`secret.${write.op} ${write.target}`);
  }

  private stamp(secret: V1Secret, fresh: boolean): V1Secret {
    secret.metadata = { ...secret.metadata, resourceVersion: String(++this.revision) };
    if (fresh) {
      secret.metadata.uid = `secret-uid-${++this.uids}`;
      secret.metadata.creationTimestamp = new Date('2025-01-01T00:00:00Z');
    }
    return secret;
  }

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }
}

/** A Secret as a user would create it, with string values. */
export function userSecret(
  name: string,
  values: Record<string, string>,
  extra: { namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: V1OwnerReference[] } = {},
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace: extra.namespace ?? 'team-a',
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
      ...(extra.ownerReferences ? { ownerReferences: extra.ownerReferences } : {}),
    },
    data: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, b64(value)])),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The authorization server

type ServerMethod = 'mintClientSecret' | 'findClient' | 'createClient' | 'updateClient' | 'deleteClient';
type StoredClient = OAuth2Client & { client_secret?: string };

/** What the server's minted secrets look like (src/crypto/minted-secret.ts). */
export const MINTED_SECRET = /^gatehouse_cs_[A-Za-z0-9_-]{55}$/;

export class FakeServer implements ServerApi {
  readonly writes: Write[] = [];

  constructor(private readonly journal: Journal = []) {}

  readonly reads: string[] = [];
  /** Errors to throw, per method, until cleared (a server that stays down stays down). */
  readonly failures: Partial<Record<ServerMethod, unknown>> = {};
  private readonly clients = new Map<string, StoredClient>();

  /** A client put on the server by someone else (CLI, another operator): not an operator write. */
  seed(client: OAuth2ClientInput & { id: string }): void {
    const parsed = clientInputSchema.parse(client);
    this.clients.set(client.id, { ...parsed, id: client.id });
  }

  /** A change made directly on the server. */
  tamper(id: string, change: Partial<OAuth2Client>): void {
    const stored = this.clients.get(id);
    if (!stored) throw new Error(`no client ${id}`);
    Object.assign(stored, change);
  }

  /** The database wiped. */
  wipe(): void {
    this.clients.clear();
  }

  /** The stored client including its secret, for assertions. */
  stored(id: string): StoredClient | undefined {
    return this.clients.get(id);
  }

  count(): number {
    return this.clients.size;
  }

  /** Minting stores nothing on the server, so it is a read, not a write. The shape of the server's. */
  async mintClientSecret(): Promise<string> {
    this.reads.push('(mint secret)');
    this.maybeFail('mintClientSecret');
    return `gatehouse_cs_${randomBytes(42).toString('base64url').slice(0, 55)}`;
  }

  async findClient(id: string): Promise<OAuth2Client | undefined> {
    this.reads.push(id);
    this.maybeFail('findClient');
    const found = this.clients.get(id);
    if (!found) return undefined;
    const { client_secret: _secret, ...withoutSecret } = found;
    return clone(withoutSecret);
  }

  async createClient(input: OAuth2ClientInput): Promise<OAuth2Client> {
    this.note({ op: 'createClient', target: input.id ?? '(generated)', body: clone(input) });
    this.maybeFail('createClient');
    const parsed = this.validate(input);
    const id = parsed.id ?? 'server-generated-id';
    if (this.clients.has(id)) throw new GatehouseApiError(409, { error: { reason: `client "${id}" already exists` } }, undefined);
    const secret = parsed.public ? undefined : (parsed.client_secret ?? 'server-generated-secret-0123456789abcdef');
    const stored: StoredClient = { ...parsed, id, ...(secret ? { client_secret: secret } : {}) };
    if (!secret) delete stored.client_secret;
    this.clients.set(id, stored);
    return clone(stored);
  }

  async updateClient(id: string, input: OAuth2ClientInput): Promise<OAuth2Client> {
    this.note({ op: 'updateClient', target: id, body: clone(input) });
    this.maybeFail('updateClient');
    const existing = this.clients.get(id);
    if (!existing) throw new GatehouseApiError(404, { error: { reason: `client "${id}" not found` } }, undefined);
    const parsed = this.validate(input);
    // Like src/server/client/service.ts: the stored secret is kept unless a new one is supplied, dropped when public.
    const secret = parsed.public ? undefined : (parsed.client_secret ?? existing.client_secret);
    const stored: StoredClient = { ...parsed, id, ...(secret ? { client_secret: secret } : {}) };
    if (!secret) delete stored.client_secret;
    this.clients.set(id, stored);
    return clone(stored);
  }

  async deleteClient(id: string): Promise<void> {
    this.note({ op: 'deleteClient', target: id });
    this.maybeFail('deleteClient');
    if (!this.clients.delete(id)) throw new GatehouseApiError(404, { error: { reason: `client "${id}" not found` } }, undefined);
  }

  private note(write: Write): void {
    this.writes.push(write);
    this.journal.push(`server.${write.op} ${write.target}`);
  }

  private validate(input: OAuth2ClientInput): ReturnType<typeof clientInputSchema.parse> {
    const parsed = clientInputSchema.safeParse(input);
    if (!parsed.success) {
      const message = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
      throw new GatehouseApiError(400, { error: 'invalid_request', error_description: message }, undefined);
    }
    return parsed.data;
  }

  private maybeFail(method: ServerMethod): void {
    if (method in this.failures) throw this.failures[method];
  }
}

export const ENDPOINTS: ServerEndpoints = {
  issuerUrl: 'https://auth.example.test',
  tokenEndpoint: 'https://auth.example.test/oauth2/token',
  authorizationEndpoint: 'https://auth.example.test/oauth2/auth',
  introspectionEndpoint: 'https://auth.example.test/oauth2/introspect',
  jwksUri: 'https://auth.example.test/.well-known/jwks.json',
};

export class FakeServers implements ServerPort {
  calls = 0;
  /** Thrown by `for` while set (a bad credentials Secret, discovery failing, …). */
  failure: unknown;

  constructor(private readonly api: FakeServer) {}

  async for(): Promise<{ api: ServerApi; endpoints: ServerEndpoints }> {
    this.calls++;
    if (this.failure !== undefined) throw this.failure;
    return { api: this.api, endpoints: ENDPOINTS };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Events

export interface RecordedEvent {
  object: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class FakeEvents implements EventPort {
  readonly recorded: RecordedEvent[] = [];

  constructor(private readonly journal: Journal = []) {}

  record(resource: OAuth2ClientResource, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorded.push({ object: keyOf(resource), type, reason, message });
    this.journal.push(`event.${type} ${reason}`);
  }

  reasons(): string[] {
    return this.recorded.map((event) => `${event.type}/${event.reason}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Everything wired together

export interface World {
  resources: FakeResources;
  secrets: FakeSecrets;
  server: FakeServer;
  servers: FakeServers;
  events: FakeEvents;
  reconciler: OAuth2ClientReconciler;
  /** Every write since the last clearRecords, in order, to the API server (resources, Secrets, Events) and to the authorization server. */
  journal: Journal;
  /** Forget what was recorded, so the next assertions see only what the next reconcile does. */
  clearRecords(): void;
}

export function world(options: { newClientId?: () => string; newSecret?: () => string } = {}): World {
  const journal: Journal = [];
  const resources = new FakeResources(journal);
  const secrets = new FakeSecrets(journal);
  const server = new FakeServer(journal);
  const servers = new FakeServers(server);
  const events = new FakeEvents(journal);
  let ids = 0;
  const reconciler = new OAuth2ClientReconciler({
    resources,
    secrets,
    servers,
    events,
    newClientId: options.newClientId ?? (() => `generated-id-${++ids}`),
    ...(options.newSecret ? { newSecret: options.newSecret } : {}),
  });
  return {
    resources,
    secrets,
    server,
    servers,
    events,
    reconciler,
    journal,
    clearRecords: () => {
      journal.length = 0;
      resources.writes.length = 0;
      secrets.writes.length = 0;
      server.writes.length = 0;
      server.reads.length = 0;
      events.recorded.length = 0;
      servers.calls = 0;
    },
  };
}
