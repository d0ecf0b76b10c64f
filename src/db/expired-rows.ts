import { sql, type Kysely } from 'kysely';
import type { DatabaseKind } from './database.js';
import type { Database } from './tables.js';

/** The tables whose rows expire: their key, and the column saying when a row was issued (for flush's notAfter). */
const EXPIRING = {
  access_tokens: { key: 'signature_hash', issuedAt: 'issued_at' },
  authorization_codes: { key: 'signature_hash', issuedAt: 'issued_at' },
  refresh_tokens: { key: 'signature_hash', issuedAt: 'issued_at' },
  consent_requests: { key: 'id', issuedAt: 'requested_at' },
  revoked_grants: { key: 'grant_id', issuedAt: 'revoked_at' },
} as const;

export type ExpiringTable = keyof typeof EXPIRING;
export const EXPIRING_TABLES = Object.keys(EXPIRING) as ExpiringTable[];

// One janitor batch at a time across replicas sharing a PostgreSQL database ("gatejani" in hex).
export const JANITOR_LOCK = 0x6761_7465_6a61;

/** Deletion of expired rows, for the janitor inside the server and for POST /oauth2/flush. */
export class ExpiredRows {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: DatabaseKind,
  ) {}

  /**
   * Deletes at most `limit` rows of `table` that expired before `before`; how many, or undefined when another replica
   * is doing the same right now.
   */
  async deleteBatch(table: ExpiringTable, before: number, limit: number): Promise<number | undefined> {
    const { key } = EXPIRING[table];
    return this.db.transaction().execute(async (tx) => {
      if (this.kind === 'postgres') {
        const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${sql.lit(JANITOR_LOCK)}) as locked`.execute(tx);
        if (!rows[0]?.locked) return undefined;
      }
      const result =
        await sql`delete from ${sql.table(table)} where ${sql.ref(key)} in (select ${sql.ref(key)} from ${sql.table(table)} where expires_at < ${before} limit ${limit})`.execute(
          tx,
        );
      return Number(result.numAffectedRows ?? 0);
    });
  }

  /** Deletes every row of `table` expired by `now` and issued before `notAfter`; how many. */
  async flush(table: ExpiringTable, notAfter: number, now: number): Promise<number> {
    const result = await sql`delete from ${sql.table(table)} where expires_at < ${now} and ${sql.ref(EXPIRING[table].issuedAt)} < ${notAfter}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }
}
