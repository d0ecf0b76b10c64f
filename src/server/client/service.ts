import { randomUUID } from 'node:crypto';
import { hashSecret, verifySecret } from '../../crypto/secret-hash.js';
import { randomToken } from '../../crypto/random.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { VerifiedCredentialCache } from './credential-cache.js';
import type { ClientInput, OAuth2Client } from './schema.js';
import type { ClientStore, StoredClient } from './store.js';

export type ClientWithSecret = OAuth2Client & { client_secret?: string };

export class ClientService {
  constructor(
    private readonly store: ClientStore,
    private readonly verified: VerifiedCredentialCache,
  ) {}

  async create(input: ClientInput): Promise<ClientWithSecret> {
    const { client_secret: suppliedSecret, id, ...fields } = input;
    const secret = fields.public ? undefined : (suppliedSecret ?? randomToken(32));
    const client: StoredClient = { ...fields, id: id ?? randomUUID(), secretHash: secret ? await hashSecret(secret) : null };
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
      secret = suppliedSecret ?? (existing.secretHash ? undefined : randomToken(32));
      secretHash = secret ? await hashSecret(secret) : existing.secretHash;
    }
    const updated: StoredClient = { ...fields, id, secretHash };
    if (!(await this.store.update(updated))) throw notFound(`client "${id}"`);
    if (secretHash !== existing.secretHash) this.verified.forget(id);
    return withSecret(updated, secret);
  }

  async delete(id: string): Promise<void> {
    if (!(await this.store.delete(id))) throw notFound(`client "${id}"`);
    this.verified.forget(id);
  }

  /**
   * The client when `secret` is its secret, else undefined. Unknown clients cost a slow hash too, so response
   * time does not reveal which client ids exist.
   */
  async authenticate(id: string, secret: string): Promise<StoredClient | undefined> {
    const client = await this.store.get(id);
    if (!client?.secretHash) {
      await verifySecret(secret, await dummyHash());
      return undefined;
    }
    const { secretHash } = client;
    return (await this.verified.verify(id, secret, secretHash, () => verifySecret(secret, secretHash))) ? client : undefined;
  }

  async findById(id: string): Promise<StoredClient | undefined> {
    return this.store.get(id);
  }

  count(): Promise<number> {
    return this.store.count();
  }
}

// A hash of a random secret nobody knows, verified against when the client does not exist (see authenticate).
let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hashSecret(randomToken(32)));

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
