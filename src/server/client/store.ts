import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { DatabaseKind } from '../../db/database.js';
import { PrecompiledQuery } from '../../db/precompiled.js';
import type { ClientTable, Database } from '../../db/tables.js';
import type { OAuth2Client } from '../../contract/client.js';
import { LIFESPAN_FIELDS, type LifespanField } from '../../contract/client-settings.js';

export interface StoredClient extends Omit<OAuth2Client, 'previous_client_secret_expires_at'> {
  secretHash: string | null;
  /** The secret a rotation with a grace period replaced, and when it stops being valid (epoch ms). */
  previousSecret?: { hash: string; expiresAt: number } | null;
}

export interface ClientStore {
  create(client: StoredClient): Promise<'created' | 'duplicate'>;
  get(id: string): Promise<StoredClient | undefined>;
  list(limit: number, offset: number): Promise<{ clients: StoredClient[]; total: number }>;
  /**
   * Replaces the client's fields; its stored secret hash (and the previous one) only when `secretsFrom` is given, and
   * then only while they still are what it says (another update or a re-hash may be racing). False when the client is
   * gone or its secrets moved meanwhile.
   */
  update(client: StoredClient, secretsFrom?: Pick<StoredClient, 'secretHash' | 'previousSecret'>): Promise<boolean>;
  /** Swaps the stored secret hash only while it is still `from`; whether it did. */
  replaceSecretHash(id: string, from: string, to: string): Promise<boolean>;
  /** Deletes the client and every token issued to it, in one transaction. */
  delete(id: string): Promise<boolean>;
  /**
   * Runs `work` in one transaction holding a lock that every change which may cost a client its management rights
   * takes, so that two such changes cannot each count on the other's client staying. `work` must use only the store
   * it is given: on SQLite the transaction holds the one connection.
   */
  exclusive<T>(work: (store: ClientStore) => Promise<T>): Promise<T>;
  /**
   * Up to `limit` confidential clients allowed the client_credentials grant whose scope names `scope` or holds a
   * `*`, by id after `after`: every client whose scope may cover `scope`, for the caller to check exactly.
   */
  listMayHoldScope(scope: string, after: string | undefined, limit: number): Promise<StoredClient[]>;
  count(): Promise<number>;
  /** The allowed CORS origins of every client that lists any. */
  listCorsOrigins(): Promise<{ id: string; origins: string[] }[]>;
  /** Secrets stored in the form `scheme` (a prefix such as "$hmac-sha256$") but not beginning with `current`. */
  countSecretHashesOutside(scheme: string, current: string): Promise<number>;
}

/** What is issued to a client, and goes with it. */
const ISSUED_TABLES = ['access_tokens', 'refresh_tokens', 'authorization_codes', 'consent_requests'] as const;

/** Key of the PostgreSQL advisory lock of ClientStore.exclusive, shared by every replica. */
const MANAGERS_LOCK = 0x6761_7465_6d67;

export class SqlClientStore implements ClientStore {
  private readonly byId: PrecompiledQuery<Selectable<ClientTable>>;

  /**
   * Byte order on both databases, so paging is stable whatever PostgreSQL's locale: SQLite compares text bytewise,
   * PostgreSQL by its collation unless told "C".
   */
  private readonly idOrder: RawBuilder<unknown> | 'id';

  /**
   * @param makeDurable settles once the writes committed so far survive power loss; each acknowledged change waits
   *   for it, the stored-hash swaps of a re-hash do not (one lost is redone at the next authentication).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: DatabaseKind,
    private readonly makeDurable: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.idOrder = kind === 'postgres' ? sql`id collate "C"` : 'id';
    this.byId = new PrecompiledQuery(db.selectFrom('clients').selectAll().where('id', '=', ''));
  }

  async create(client: StoredClient): Promise<'created' | 'duplicate'> {
    const now = Date.now();
    const insert = async (tx: Kysely<Database>) => {
      const result = await tx
        .insertInto('clients')
        .values({ ...toRow(client), created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      const created = Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
      // What a request racing the deletion of an earlier client with this id wrote after it (its tokens, a code) must
      // not come to life for this one. Nothing can have been issued to the new client before this commits.
      if (created) for (const table of ISSUED_TABLES) await tx.deleteFrom(table).where('client_id', '=', client.id).execute();
      return created;
    };
    const created = this.db.isTransaction ? await insert(this.db) : await this.db.transaction().execute(insert);
    if (created) await this.makeDurable();
    return created ? 'created' : 'duplicate';
  }

  async get(id: string): Promise<StoredClient | undefined> {
    const [row] = (await this.byId.execute(this.db, [id])).rows;
    return row && fromRow(row);
  }

  async list(limit: number, offset: number): Promise<{ clients: StoredClient[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.db.selectFrom('clients').selectAll().orderBy(this.idOrder).limit(limit).offset(offset).execute(),
      this.count(),
    ]);
    return { clients: rows.map(fromRow), total };
  }

  async update(client: StoredClient, secretsFrom?: Pick<StoredClient, 'secretHash' | 'previousSecret'>): Promise<boolean> {
    const { id, secret_hash, previous_secret_hash, previous_secret_expires_at, ...fields } = toRow(client);
    const changes = secretsFrom ? { ...fields, secret_hash, previous_secret_hash, previous_secret_expires_at } : fields;
    let query = this.db
      .updateTable('clients')
      .set({ ...changes, updated_at: Date.now() })
      .where('id', '=', id);
    if (secretsFrom) {
      const { secretHash, previousSecret } = secretsFrom;
      query = query
        .where('secret_hash', secretHash === null ? 'is' : '=', secretHash)
        .where('previous_secret_hash', previousSecret ? '=' : 'is', previousSecret?.hash ?? null);
    }
    const result = await query.executeTakeFirst();
    const updated = Number(result.numUpdatedRows) === 1;
    if (updated) await this.makeDurable();
    return updated;
  }

  async replaceSecretHash(id: string, from: string, to: string): Promise<boolean> {
    const result = await this.db
      .updateTable('clients')
      // updated_at stays: nothing about the client changed, only how its secret is stored.
      .set({ secret_hash: to })
      .where('id', '=', id)
      .where('secret_hash', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async delete(id: string): Promise<boolean> {
    const remove = async (tx: Kysely<Database>) => {
      // Everything issued to it goes with it, and what is under way (a consent, a code) cannot finish.
      for (const table of ISSUED_TABLES) await tx.deleteFrom(table).where('client_id', '=', id).execute();
      const result = await tx.deleteFrom('clients').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    };
    // Kysely refuses a transaction inside a transaction (exclusive).
    if (this.db.isTransaction) return remove(this.db);
    const deleted = await this.db.transaction().execute(remove);
    if (deleted) await this.makeDurable();
    return deleted;
  }

  async exclusive<T>(work: (store: ClientStore) => Promise<T>): Promise<T> {
    const result = await this.db.transaction().execute(async (tx) => {
      // SQLite needs nothing more: the transaction holds the server's only connection until it ends.
      if (this.kind === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(MANAGERS_LOCK)})`.execute(tx);
      // Inside the transaction there is nothing durable to wait for yet: the commit comes after `work`.
      return work(new SqlClientStore(tx, this.kind));
    });
    await this.makeDurable();
    return result;
  }

  async listMayHoldScope(scope: string, after: string | undefined, limit: number): Promise<StoredClient[]> {
    let query = this.db
      .selectFrom('clients')
      .selectAll()
      .where('public', '=', 0)
      .where('secret_hash', 'is not', null)
      .where('grant_types', 'like', '%"client_credentials"%')
      .where((eb) => eb.or([eb('scope', 'like', `%${scope}%`), eb('scope', 'like', '%*%')]));
    // Compared in the order listed, bytewise on both databases.
    if (after !== undefined) query = query.where(this.kind === 'postgres' ? sql<string>`id collate "C"` : 'id', '>', after);
    const rows = await query.orderBy(this.idOrder).limit(limit).execute();
    return rows.map(fromRow);
  }

  async countSecretHashesOutside(scheme: string, current: string): Promise<number> {
    // substr, not LIKE: key ids are base64url, and "_" is a LIKE wildcard.
    const row = await this.db
      .selectFrom('clients')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where(sql<string>`substr(secret_hash, 1, ${scheme.length})`, '=', scheme)
      .where(sql<string>`substr(secret_hash, 1, ${current.length})`, '!=', current)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listCorsOrigins(): Promise<{ id: string; origins: string[] }[]> {
    const rows = await this.db.selectFrom('clients').select(['id', 'allowed_cors_origins']).where('allowed_cors_origins', '!=', '[]').execute();
    return rows.map((row) => ({ id: row.id, origins: JSON.parse(row.allowed_cors_origins) as string[] }));
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('clients')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toRow(client: StoredClient): Omit<ClientTable, 'created_at' | 'updated_at'> {
  return {
    id: client.id,
    client_name: client.client_name,
    secret_hash: client.secretHash,
    redirect_uris: JSON.stringify(client.redirect_uris),
    grant_types: JSON.stringify(client.grant_types),
    response_types: JSON.stringify(client.response_types),
    scope: client.scope,
    owner: client.owner,
    policy_uri: client.policy_uri,
    tos_uri: client.tos_uri,
    client_uri: client.client_uri,
    logo_uri: client.logo_uri,
    contacts: JSON.stringify(client.contacts),
    public: client.public ? 1 : 0,
    previous_secret_hash: client.previousSecret?.hash ?? null,
    previous_secret_expires_at: client.previousSecret?.expiresAt ?? null,
    audience: JSON.stringify(client.audience),
    allowed_cors_origins: JSON.stringify(client.allowed_cors_origins),
    post_logout_redirect_uris: JSON.stringify(client.post_logout_redirect_uris),
    skip_consent: client.skip_consent ? 1 : 0,
    token_lifespans: JSON.stringify(Object.fromEntries(LIFESPAN_FIELDS.filter((field) => client[field] !== null).map((field) => [field, client[field]]))),
  };
}

function fromRow(row: Selectable<ClientTable>): StoredClient {
  return {
    id: row.id,
    client_name: row.client_name,
    secretHash: row.secret_hash,
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    grant_types: JSON.parse(row.grant_types) as string[],
    response_types: JSON.parse(row.response_types) as string[],
    scope: row.scope,
    owner: row.owner,
    policy_uri: row.policy_uri,
    tos_uri: row.tos_uri,
    client_uri: row.client_uri,
    logo_uri: row.logo_uri,
    contacts: JSON.parse(row.contacts) as string[],
    public: Boolean(row.public),
    previousSecret:
      row.previous_secret_hash === null || row.previous_secret_expires_at === null
        ? null
        : { hash: row.previous_secret_hash, expiresAt: row.previous_secret_expires_at },
    audience: JSON.parse(row.audience) as string[],
    allowed_cors_origins: JSON.parse(row.allowed_cors_origins) as string[],
    post_logout_redirect_uris: JSON.parse(row.post_logout_redirect_uris) as string[],
    skip_consent: Boolean(row.skip_consent),
    ...lifespansFromRow(row.token_lifespans),
  };
}

function lifespansFromRow(text: string): Record<LifespanField, string | null> {
  const stored = JSON.parse(text) as Partial<Record<LifespanField, string>>;
  return Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, stored[field] ?? null])) as Record<LifespanField, string | null>;
}
