import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { BatchWriter } from '../../db/batch-writer.js';
import { PrecompiledInsert, PrecompiledQuery } from '../../db/precompiled.js';
import type { AccessTokenTable, Database } from '../../db/tables.js';

export interface AccessTokenRecord {
  storageKey: string;
  grantId: string;
  clientId: string;
  subject: string;
  scopes: string[];
  extra: Record<string, unknown>;
  /** The consent's idTokenExtra: what userinfo answers besides sub. */
  idTokenExtra: Record<string, unknown>;
  issuedAt: number;
  expiresAt: number;
  /** Which secret the client authenticated with when it was issued; undefined when none was presented. */
  clientSecretUsed?: 'current' | 'previous';
  /** The audiences granted with it (the token request's audience parameter). */
  audience: string[];
}

export interface TokenStore {
  saveAccessToken(record: AccessTokenRecord): Promise<void>;
  findAccessToken(storageKey: string): Promise<AccessTokenRecord | undefined>;
}

/**
 * An access token counts only while its client exists. Deleting a client deletes what was issued to it, but a request
 * that authenticated the client a moment before (on this replica, or on another one within its credential cache's
 * lifetime) can still write a token after that: the token is then as good as unknown. Codes and refresh tokens need
 * no such check: only their client can exchange them, and a deleted client cannot authenticate.
 */
// Written as IN rather than EXISTS or a join: SQLite runs this form as a probe of the clients' primary-key index, the
// other two cost seven times as much.
const issuedToExistingClient = sql<boolean>`access_tokens.client_id in (select id from clients)`;

export class SqlTokenStore implements TokenStore {
  private readonly byStorageKey: PrecompiledQuery<Selectable<AccessTokenTable>>;

  constructor(private readonly db: Kysely<Database>) {
    this.byStorageKey = new PrecompiledQuery(db.selectFrom('access_tokens').selectAll().where('signature_hash', '=', '').where(issuedToExistingClient));
  }

  private readonly insert = new PrecompiledInsert(
    (rows: Insertable<AccessTokenTable>[]) => this.db.insertInto('access_tokens').values(rows),
    ['signature_hash', 'grant_id', 'client_id', 'subject', 'scope', 'extra', 'id_token_extra', 'issued_at', 'expires_at', 'client_secret_used', 'audience'],
  );

  private readonly inserts = new BatchWriter<AccessTokenRecord>(async (records) => {
    await this.insert.execute(
      this.db,
      records.map((record) => ({
        signature_hash: record.storageKey,
        grant_id: record.grantId,
        client_id: record.clientId,
        subject: record.subject,
        scope: record.scopes.join(' '),
        extra: JSON.stringify(record.extra),
        id_token_extra: JSON.stringify(record.idTokenExtra),
        issued_at: record.issuedAt,
        expires_at: record.expiresAt,
        client_secret_used: record.clientSecretUsed ?? null,
        audience: JSON.stringify(record.audience),
      })),
    );
  });

  saveAccessToken(record: AccessTokenRecord): Promise<void> {
    return this.inserts.write(record);
  }

  async findAccessToken(storageKey: string): Promise<AccessTokenRecord | undefined> {
    const [row] = (await this.byStorageKey.execute(this.db, [storageKey])).rows;
    if (!row) return undefined;
    return {
      storageKey: row.signature_hash,
      grantId: row.grant_id,
      clientId: row.client_id,
      subject: row.subject,
      scopes: row.scope ? row.scope.split(' ') : [],
      extra: JSON.parse(row.extra) as Record<string, unknown>,
      idTokenExtra: JSON.parse(row.id_token_extra) as Record<string, unknown>,
      issuedAt: row.issued_at,
      expiresAt: row.expires_at,
      ...(row.client_secret_used ? { clientSecretUsed: row.client_secret_used } : {}),
      // Most tokens have none: introspection is the hot path, and this skips a parse there.
      audience: row.audience === '[]' ? [] : (JSON.parse(row.audience) as string[]),
    };
  }
}
