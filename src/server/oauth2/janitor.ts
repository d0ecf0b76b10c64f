import type { Logger } from 'pino';
import type { Metrics } from '../../observability/metrics.js';
import type { TokenStore } from './token-store.js';

export interface JanitorSettings {
  /** Between passes; 0 runs none (POST /oauth2/flush still works). */
  intervalMs: number;
  /** How long a token is kept after it expired, e.g. to answer "why was it inactive" from the database. */
  retentionMs: number;
  /** Rows deleted per statement: small enough that a batch never stalls the requests waiting for the database. */
  batchSize: number;
}

/**
 * Deletes expired access tokens inside the server, so the database does not grow until someone calls /oauth2/flush
 * (280k tokens made an 87 MB SQLite file). Passes delete in batches and yield to requests between them; on
 * PostgreSQL one replica's batch at a time does the work (TokenStore.deleteExpiredBatch).
 */
export class TokenJanitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly tokens: TokenStore,
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
    let total = 0;
    try {
      while (!this.stopped) {
        const deleted = await this.tokens.deleteExpiredBatch(before, this.settings.batchSize);
        if (deleted === undefined) break;
        total += deleted;
        this.metrics.janitorDeleted.inc({ kind: 'access_token' }, deleted);
        if (deleted < this.settings.batchSize) break;
        // Requests queued behind this batch go first.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (total) this.logger.info({ accessTokens: total }, 'deleted expired tokens');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not delete expired tokens; trying again at the next pass');
    }
  }
}
