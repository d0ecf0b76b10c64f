import { randomUUID } from 'node:crypto';
import { KEYED_SCHEME } from '../../crypto/keyed-secret-hash.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { ClientInput, OAuth2Client } from './schema.js';
import type { ClientSecrets } from './secrets.js';
import type { ClientStore, StoredClient } from './store.js';

export type ClientWithSecret = OAuth2Client & { client_secret?: string };

export class ClientService {
  constructor(
    private readonly store: ClientStore,
    private readonly secrets: ClientSecrets,
  ) {}

  /** A secret minted by this server, stored nowhere: for callers that must hold the secret before the client exists. */
  mintSecret(): string {
    return this.secrets.mint();
  }

  async create(input: ClientInput): Promise<ClientWithSecret> {
    const { client_secret: suppliedSecret, id, ...fields } = input;
    const secret = fields.public ? undefined : (suppliedSecret ?? this.secrets.mint());
    const client: StoredClient = { ...fields, id: id ?? randomUUID(), secretHash: secret ? await this.secrets.protect(secret) : null };
    if ((await this.store.create(client)) === 'duplicate') throw conflict(`a client with id "${client.id}" already exists`);
    return withSecret(client, secret);
  }

  async get(id: string): Promise<OAuth2Client> {
    const client = await this.store.get(id);
    if (!client) throw notFound(`client "${id}"`);
    return withoutSecret(client);
  }

  async list(limit: number, offset: number): Promise<{ clients: OAuth2Client[]; total: number }> {
    const { clients, total } = await this.store.list(limit, offset);
    return { clients: clients.map(withoutSecret), total };
  }

  /** Replaces the client; the stored secret is kept unless a new one is supplied (or the client becomes public). */
  async update(id: string, input: ClientInput): Promise<ClientWithSecret> {
    if (input.id !== undefined && input.id !== id) {
      throw badRequest(`the body's id "${input.id}" differs from the id in the path "${id}"`, [{ field: 'id' }]);
    }
    const existing = await this.store.get(id);
    if (!existing) throw notFound(`client "${id}"`);
    const { client_secret: suppliedSecret, id: _ignored, ...fields } = input;
    let secret: string | undefined;
    let secretHash: string | null = null;
    if (!fields.public) {
      // A client turning confidential needs a secret; one is generated and shown once, as on create.
      secret = suppliedSecret ?? (existing.secretHash ? undefined : this.secrets.mint());
      secretHash = secret ? await this.secrets.protect(secret) : existing.secretHash;
    }
    const updated: StoredClient = { ...fields, id, secretHash };
    if (!(await this.store.update(updated, secretHash !== existing.secretHash))) throw notFound(`client "${id}"`);
    if (secretHash !== existing.secretHash) this.secrets.forget(id);
    return withSecret(updated, secret);
  }

  async delete(id: string): Promise<void> {
    if (!(await this.store.delete(id))) throw notFound(`client "${id}"`);
    this.secrets.forget(id);
  }

  /**
   * The client when `secret` is its secret, else undefined. An unknown client costs what a real check of the
   * presented secret would, so neither response time nor CPU reveals which client ids exist (except to a holder of
   * a genuine minted secret, who can tell scrypt-stored clients apart: docs/security.md).
   */
  async authenticate(id: string, secret: string): Promise<StoredClient | undefined> {
    const client = await this.store.get(id);
    if (!client?.secretHash) {
      await this.secrets.verifyUnknown(secret);
      return undefined;
    }
    const { verified, rehashed } = await this.secrets.verify(id, secret, client.secretHash);
    if (!verified) return undefined;
    // Conditional on the hash still being the one verified: a secret changed meanwhile must not be overwritten.
    if (rehashed && (await this.store.replaceSecretHash(id, client.secretHash, rehashed))) return { ...client, secretHash: rehashed };
    return client;
  }

  async findById(id: string): Promise<StoredClient | undefined> {
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

/** The wire shape, id first, as Hydra's clients expect to read it. */
function withoutSecret(client: StoredClient): OAuth2Client {
  return {
    id: client.id,
    client_name: client.client_name,
    redirect_uris: client.redirect_uris,
    grant_types: client.grant_types,
    response_types: client.response_types,
    scope: client.scope,
    owner: client.owner,
    policy_uri: client.policy_uri,
    tos_uri: client.tos_uri,
    client_uri: client.client_uri,
    logo_uri: client.logo_uri,
    contacts: client.contacts,
    public: client.public,
  };
}

function withSecret(client: StoredClient, secret: string | undefined): ClientWithSecret {
  return secret === undefined ? withoutSecret(client) : { ...withoutSecret(client), client_secret: secret };
}
