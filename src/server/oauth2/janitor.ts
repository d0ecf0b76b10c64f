import type { Logger } from 'pino';
import type { Metrics } from '../../observability/metrics.js';
import { EXPIRING_TABLES, type ExpiredRows, type ExpiringTable } from '../../db/expired-rows.js';

export interface JanitorSettings {
  /** Between passes; 0 runs none (POST /oauth2/flush still works). */
  intervalMs: number;
  /** How long a token is kept after it expired, e.g. to answer "why was it inactive" from the database. */
  retentionMs: number;
  /** Rows deleted per statement: small enough that a batch never stalls the requests waiting for the database. */
  batchSize: number;
}

/** The janitor metric's `kind` of each table. */
const KIND: Record<ExpiringTable, string> = {
  access_tokens: 'access_token',
  authorization_codes: 'authorization_code',
  refresh_tokens: 'refresh_token',
  consent_requests: 'consent_request',
  revoked_grants: 'revoked_grant',
};

/**
 * Deletes expired access tokens, authorization codes, refresh tokens and consent requests inside the server, so the
 * database does not grow until someone calls /oauth2/flush (280k tokens made an 87 MB SQLite file). Passes delete in
 * batches and yield to requests between them; on PostgreSQL one replica's batch at a time does the work
 * (ExpiredRows.deleteBatch).
 */
export class TokenJanitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly expired: ExpiredRows,
    private readonly settings: JanitorSettings,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.settings.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.pass(), this.settings.intervalMs);
    this.timer.unref();
  }

  /** One pass; a pass still running when the next is due makes that one skip. */
  pass(): Promise<void> {
    this.running ??= this.deleteExpired().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async deleteExpired(): Promise<void> {
    const before = Date.now() - this.settings.retentionMs;
    const deleted: Record<string, number> = {};
    try {
      for (const table of EXPIRING_TABLES) {
        const count = await this.deleteExpiredOf(table, before);
        if (count) deleted[KIND[table]] = count;
      }
      if (Object.keys(deleted).length) this.logger.info({ deleted }, 'deleted expired tokens, codes and consent requests');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not delete expired tokens; trying again at the next pass');
    }
  }

  private async deleteExpiredOf(table: ExpiringTable, before: number): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const deleted = await this.expired.deleteBatch(table, before, this.settings.batchSize);
      if (deleted === undefined) break;
      total += deleted;
      this.metrics.janitorDeleted.inc({ kind: KIND[table] }, deleted);
      if (deleted < this.settings.batchSize) break;
      // Requests queued behind this batch go first.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }
}
