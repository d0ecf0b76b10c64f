import { randomUUID } from 'node:crypto';
import { KEYED_SCHEME } from '../../crypto/keyed-secret-hash.js';
import { ApiError, TooManyFailedAuthentications, badRequest, conflict, notFound } from '../errors.js';
import type { AuthFailureLimiter, Refusal } from './auth-failure-limiter.js';
import type { ClientChanges } from './cors-origins.js';
import { CLIENTS_SCOPE, type CanManageClients, type ClientManagers } from './managers.js';
import { CLIENT_ID, OAUTH2_CLIENT_FIELDS, type ClientInput, type OAuth2Client, type OAuth2ClientWithSecret } from '../../contract/client.js';
import type { ClientSecrets } from './secrets.js';
import type { ClientStore, StoredClient } from './store.js';

/** A client that authenticated, and with which of its secrets (undefined: none was presented, a public client). */
export type AuthenticatedClient = StoredClient & { secretUsed?: 'current' | 'previous' };

export class ClientService {
  constructor(
    private readonly store: ClientStore,
    private readonly secrets: ClientSecrets,
    /** Without it, any client may be deleted or changed, the last one able to manage clients too. */
    private readonly managers?: ClientManagers,
    /** Without it, failed authentications are not limited. */
    private readonly failures?: AuthFailureLimiter,
    /** Told of each stored change (the CORS origins clients allow keep up with it). */
    private readonly changes?: ClientChanges,
  ) {}

  /** A secret minted by this server, stored nowhere: for callers that must hold the secret before the client exists. */
  mintSecret(): string {
    return this.secrets.mint();
  }

  async create(input: ClientInput): Promise<OAuth2ClientWithSecret> {
    const { client_secret: suppliedSecret, id, client_secret_grace_period: grace, previous_client_secret: previous, ...fields } = input;
    // A new client has no secret to keep: only one named (a client registered again in the middle of a rotation).
    if (grace !== undefined && previous === undefined) {
      throw badRequest('a new client has no secret to keep valid: name it in previous_client_secret, or leave out client_secret_grace_period', [
        { field: 'client_secret_grace_period' },
      ]);
    }
    const secret = fields.public ? undefined : (suppliedSecret ?? this.secrets.mint());
    const client: StoredClient = {
      ...fields,
      id: id ?? randomUUID(),
      secretHash: secret ? await this.secrets.protect(secret) : null,
      previousSecret: grace && previous ? await this.previousSecret(previous, grace) : null,
    };
    if ((await this.store.create(client)) === 'duplicate') throw conflict(`a client with id "${client.id}" already exists`);
    this.changes?.saved(client);
    return withSecret(client, secret);
  }

  /** A client already loaded (by the management hook, for its owner) as the API shows it, or 404. */
  view(id: string, client: StoredClient | undefined): OAuth2Client {
    if (!client) throw notFound(`client "${id}"`);
    return withoutSecret(client);
  }

  async list(limit: number, offset: number): Promise<{ clients: OAuth2Client[]; total: number }> {
    const { clients, total } = await this.store.list(limit, offset);
    return { clients: clients.map(withoutSecret), total };
  }

  /** Replaces the client; the stored secret is kept unless a new one is supplied (or the client becomes public). */
  async update(id: string, input: ClientInput, attempt = 1): Promise<OAuth2ClientWithSecret> {
    if (input.id !== undefined && input.id !== id) {
      throw badRequest(`the body's id "${input.id}" differs from the id in the path "${id}"`, [{ field: 'id' }]);
    }
    const existing = await this.store.get(id);
    if (!existing) throw notFound(`client "${id}"`);
    const { client_secret: suppliedSecret, id: _ignored, client_secret_grace_period: grace, previous_client_secret: previous, ...fields } = input;
    let secret: string | undefined;
    let secretHash: string | null = null;
    let previousSecret: StoredClient['previousSecret'] = null;
    if (!fields.public) {
      // A client turning confidential needs a secret; one is generated and shown once, as on create.
      secret = suppliedSecret ?? (existing.secretHash ? undefined : this.secrets.mint());
      // The secret it already has changes nothing, the previous one and its grace period included (unless a grace
      // period is sent along): a caller that pushes the secret it holds again (the operator restoring what its Secret
      // says) cannot end a rotation early.
      const unchanged = suppliedSecret !== undefined && existing.secretHash !== null && (await this.secrets.isStored(id, suppliedSecret, existing.secretHash));
      if (unchanged && previous !== undefined) {
        throw badRequest('previous_client_secret comes with a new client_secret: a previous secret is only ever the one a rotation replaces', [
          { field: 'previous_client_secret' },
        ]);
      }
      secretHash = unchanged ? existing.secretHash : secret ? await this.secrets.protect(secret) : existing.secretHash;
      previousSecret = unchanged ? this.previousKept(existing, grace) : await this.previousAfterUpdate(existing, suppliedSecret, grace, previous);
    }
    const updated: StoredClient = { ...fields, id, secretHash, previousSecret };
    const secretsChanged = secretHash !== existing.secretHash || !samePrevious(previousSecret, existing.previousSecret);
    // The secrets are computed from the row read before the slow hashes: written only if that row's secrets are still
    // stored, or a rotation sent meanwhile (whose caller got its 200) would be undone by this one.
    const saved = await this.keepingAManager(id, updated, (store) => store.update(updated, secretsChanged ? existing : undefined));
    if (!saved) {
      const now = await this.store.get(id);
      if (!now) throw notFound(`client "${id}"`);
      // Once more from the new row: the race may have been a re-hash on authentication, which changes nothing.
      if (attempt === 1) return this.update(id, input, 2);
      throw new ApiError(
        409,
        `client "${id}" had its secret changed by another request while this one was made; send it again`,
        'The client changed meanwhile',
      );
    }
    this.changes?.saved(updated);
    if (secretHash !== existing.secretHash) this.secrets.forget(id);
    return withSecret(updated, secret);
  }

  /**
   * What stays valid beside the secret after an update: with a new secret and a grace period, the secret replaced (or
   * the one named); with a new secret alone, nothing (Hydra's behaviour); with no new secret, what was there.
   */
  private async previousAfterUpdate(
    existing: StoredClient,
    newSecret: string | undefined,
    grace: number | undefined,
    named: string | undefined,
  ): Promise<StoredClient['previousSecret']> {
    if (newSecret === undefined) return existing.previousSecret ?? null;
    if (grace === undefined) return null;
    if (named !== undefined) return this.previousSecret(named, grace);
    return existing.secretHash ? { hash: existing.secretHash, expiresAt: Date.now() + grace * 1000 } : null;
  }

  /**
   * The secret sent is the one the client has: the previous one stays, and a grace period sent along can only shorten
   * its life, to that long from now (a rotation that first keeps the old secret valid for long, until every holder has
   * the new one, then cuts it to the grace period). Nothing brings an expired previous secret back or extends one: a
   * tool that applies the same body again changes nothing.
   */
  private previousKept(existing: StoredClient, grace: number | undefined): StoredClient['previousSecret'] {
    const previous = existing.previousSecret;
    if (!previous || grace === undefined) return previous ?? null;
    return { hash: previous.hash, expiresAt: Math.min(previous.expiresAt, Date.now() + grace * 1000) };
  }

  private async previousSecret(secret: string, graceSeconds: number): Promise<NonNullable<StoredClient['previousSecret']>> {
    return { hash: await this.secrets.protect(secret), expiresAt: Date.now() + graceSeconds * 1000 };
  }

  async delete(id: string): Promise<void> {
    if (!(await this.keepingAManager(id, undefined, (store) => store.delete(id)))) throw notFound(`client "${id}"`);
    this.changes?.deleted(id);
    this.secrets.forget(id);
  }

  /**
   * Runs a change that leaves client `id` as `after` (deleted when undefined), refusing with a 409 one that would take
   * the last client able to manage clients (managers.ts): without one, no management call could succeed again.
   */
  private async keepingAManager<T>(id: string, after: StoredClient | undefined, change: (store: ClientStore) => Promise<T>): Promise<T> {
    const canManage = await this.managers?.predicate();
    // A client that can manage clients after the change leaves their number as it was or higher.
    if (!canManage || (after && canManage(after))) return change(this.store);
    return this.store.exclusive(async (store) => {
      const before = await store.get(id);
      if (before && canManage(before) && !(await anotherManager(store, canManage, id))) throw lastManager(id, after === undefined);
      return change(store);
    });
  }

  /**
   * The client when `secret` is its secret, else undefined. An unknown client costs what a real check of the
   * presented secret would, so neither response time nor CPU reveals which client ids exist (except to a holder of
   * a genuine minted secret, who can tell scrypt-stored clients apart: docs/security.md).
   */
  async authenticate(id: string, secret: string, address = ''): Promise<AuthenticatedClient | undefined> {
    // No client has such an id, and neither may the limiter's memory: answered at once, which reveals nothing.
    if (!CLIENT_ID.test(id)) return undefined;
    // Under a flood of guesses most attempts end here, before the database: limited, and nothing the database could
    // hold would make this check cheap. (An attempt that may be cheap reads the client and decides below.)
    const early = this.failures?.refusal(id, address, false);
    if (early && !this.secrets.mayVerifyCheaply(id, secret)) throw throttled(this.failures!.refused(early));
    const client = await this.store.get(id);
    if (!client?.secretHash) {
      // Nothing here can be checked cheaply: a failure like any other.
      const limited = this.failures?.take(id, address);
      if (limited) throw throttled(limited);
      await this.secrets.verifyUnknown(secret);
      return undefined;
    }
    // The expiry is checked here, on every request and every replica: the row says when the grace period ends.
    const previous = client.previousSecret && client.previousSecret.expiresAt > Date.now() ? client.previousSecret.hash : undefined;
    // A cheap check (a keyed hash, or a credential verified before) neither waits for nor spends a token: that is
    // how a client whose credential is good keeps working while someone else guesses at it. Cheap checks go first;
    // before the first one that is not, a token is spent (and given back if the secret turns out good).
    const checks = [{ which: 'current' as const, hash: client.secretHash }, ...(previous ? [{ which: 'previous' as const, hash: previous }] : [])]
      .map((check) => ({ ...check, cheap: this.secrets.verifiesCheaply(id, secret, check.hash) }))
      .sort((a, b) => Number(b.cheap) - Number(a.cheap));
    let spent = false;
    for (const check of checks) {
      if (!check.cheap && !spent) {
        const limited = this.failures?.take(id, address);
        if (limited) throw throttled(limited);
        spent = true;
      }
      if (check.which === 'previous') {
        // Not moved to a better stored form (it expires soon anyway), and no work done to hide anything: the check of
        // the current secret does that.
        if (!(await this.secrets.isStored(id, secret, check.hash))) continue;
        if (spent) this.failures?.refund(id, address);
        return { ...client, secretUsed: 'previous' };
      }
      const { verified, rehashed } = await this.secrets.verify(id, secret, check.hash);
      if (!verified) continue;
      if (spent) this.failures?.refund(id, address);
      // Conditional on the hash still being the one verified: a secret changed meanwhile must not be overwritten.
      if (rehashed && (await this.store.replaceSecretHash(id, check.hash, rehashed))) return { ...client, secretHash: rehashed, secretUsed: 'current' };
      return { ...client, secretUsed: 'current' };
    }
    return undefined;
  }

  async findById(id: string): Promise<StoredClient | undefined> {
    // Ids come straight from requests here (authorization endpoint, public clients): one no client can have is not
    // looked up, so a NUL byte, which PostgreSQL refuses in text, answers "no such client" instead of a 500.
    if (!CLIENT_ID.test(id)) return undefined;
    return this.store.get(id);
  }

  /**
   * Clients whose secret is stored in fast form under a system secret that is no longer the first: each needs that
   * secret to stay in SYSTEM_SECRET until it next authenticates (and is re-hashed) or gets a new secret.
   */
  countSecretsUnderPreviousSystemSecrets(): Promise<number> {
    return this.store.countSecretHashesOutside(`$${KEYED_SCHEME}$`, this.secrets.currentKeyedPrefix);
  }

  count(): Promise<number> {
    return this.store.count();
  }
}

function samePrevious(a: StoredClient['previousSecret'], b: StoredClient['previousSecret']): boolean {
  return (a?.hash ?? null) === (b?.hash ?? null) && (a?.expiresAt ?? null) === (b?.expiresAt ?? null);
}

async function anotherManager(store: ClientStore, canManage: CanManageClients, id: string): Promise<boolean> {
  let after: string | undefined;
  for (;;) {
    const page = await store.listMayHoldScope(CLIENTS_SCOPE, after, 100);
    if (page.some((client) => client.id !== id && canManage(client))) return true;
    if (page.length < 100) return false;
    after = page[page.length - 1]!.id;
  }
}

function lastManager(id: string, deleting: boolean): ApiError {
  const change = deleting ? 'deleting it' : 'this update, which takes that ability from it,';
  return new ApiError(
    409,
    `client "${id}" is the last client that can manage clients, and ${change} would lock every management call out. ` +
      `First give another client the ability: a secret, the client_credentials grant, a scope covering ${CLIENTS_SCOPE}, and a policy ` +
      'that allows its id create on clients and delete on clients:<its id> without conditions.',
    'The request conflicts with the current state of the server',
  );
}

const DESCRIPTION_FIELDS = OAUTH2_CLIENT_FIELDS.filter(
  (field): field is Exclude<keyof OAuth2Client, 'previous_client_secret_expires_at'> => field !== 'previous_client_secret_expires_at',
);

/**
 * The wire shape, id first, as Hydra's clients expect to read it: the contract's fields and nothing else, and when a
 * rotated secret is still valid, until when.
 */
function withoutSecret(client: StoredClient): OAuth2Client {
  const view = Object.fromEntries(DESCRIPTION_FIELDS.map((field) => [field, client[field]])) as unknown as OAuth2Client;
  const previous = client.previousSecret;
  return previous && previous.expiresAt > Date.now() ? { ...view, previous_client_secret_expires_at: Math.floor(previous.expiresAt / 1000) } : view;
}

function withSecret(client: StoredClient, secret: string | undefined): OAuth2ClientWithSecret {
  return secret === undefined ? withoutSecret(client) : { ...withoutSecret(client), client_secret: secret };
}

/**
 * The 429 of a limited attempt, without a stack trace: under a flood it is thrown thousands of times a second, and
 * capturing where (always here) cost about 7 % of the server's CPU in `npm run bench`.
 */
function throttled(refusal: Refusal): TooManyFailedAuthentications {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new TooManyFailedAuthentications(refusal.retryAfterSeconds, refusal.by, refusal.first);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
