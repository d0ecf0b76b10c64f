import { sql, type Kysely, type Selectable } from 'kysely';
import type { DatabaseKind } from '../../db/database.js';
import { BatchWriter } from '../../db/batch-writer.js';
import { PrecompiledQuery } from '../../db/precompiled.js';
import type { AccessTokenTable, Database } from '../../db/tables.js';

export interface AccessTokenRecord {
  storageKey: string;
  grantId: string;
  clientId: string;
  subject: string;
  scopes: string[];
  extra: Record<string, unknown>;
  issuedAt: number;
  expiresAt: number;
}

export interface TokenStore {
  saveAccessToken(record: AccessTokenRecord): Promise<void>;
  findAccessToken(storageKey: string): Promise<AccessTokenRecord | undefined>;
  /** Deletes expired access tokens that were issued before `notAfter`; returns how many. */
  flushExpired(notAfter: number, now: number): Promise<number>;
  /**
   * Deletes at most `limit` access tokens that expired before `before`; how many, or undefined when another replica
   * is doing the same right now.
   */
  deleteExpiredBatch(before: number, limit: number): Promise<number | undefined>;
}

// One janitor batch at a time across replicas sharing a PostgreSQL database ("gatejani" in hex).
export const JANITOR_LOCK = 0x6761_7465_6a61;

export class SqlTokenStore implements TokenStore {
  private readonly byStorageKey: PrecompiledQuery<Selectable<AccessTokenTable>>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: DatabaseKind = 'sqlite',
  ) {
    this.byStorageKey = new PrecompiledQuery(db.selectFrom('access_tokens').selectAll().where('signature_hash', '=', ''));
  }

  private readonly inserts = new BatchWriter<AccessTokenRecord>(async (records) => {
    await this.db
      .insertInto('access_tokens')
      .values(
        records.map((record) => ({
          signature_hash: record.storageKey,
          grant_id: record.grantId,
          client_id: record.clientId,
          subject: record.subject,
          scope: record.scopes.join(' '),
          extra: JSON.stringify(record.extra),
          issued_at: record.issuedAt,
          expires_at: record.expiresAt,
        })),
      )
      .execute();
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
      issuedAt: row.issued_at,
      expiresAt: row.expires_at,
    };
  }

  async deleteExpiredBatch(before: number, limit: number): Promise<number | undefined> {
    return this.db.transaction().execute(async (tx) => {
      if (this.kind === 'postgres') {
        const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${sql.lit(JANITOR_LOCK)}) as locked`.execute(tx);
        if (!rows[0]?.locked) return undefined;
      }
      const result = await tx
        .deleteFrom('access_tokens')
        .where('signature_hash', 'in', (eb) => eb.selectFrom('access_tokens').select('signature_hash').where('expires_at', '<', before).limit(limit))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  async flushExpired(notAfter: number, now: number): Promise<number> {
    const result = await this.db.deleteFrom('access_tokens').where('expires_at', '<', now).where('issued_at', '<', notAfter).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
