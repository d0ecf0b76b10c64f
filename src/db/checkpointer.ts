import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints: often enough that the WAL stays short under a steady write load. */
export const CHECKPOINT_INTERVAL_MS = 100;

const CLOSE_TIMEOUT_MS = 2000;

/**
 * SQLite checkpoints (copying the WAL back into the database file, then syncing it) on a worker thread with its own
 * connection, instead of inside whichever commit crosses wal_autocheckpoint on the event loop. Measured with
 * `npm run bench`'s browser flows, whose every step writes: checkpoints on the event loop cost about a seventh of
 * the server's throughput and put their pause into whichever request committed. A PASSIVE checkpoint never blocks
 * readers or the writer, and one with nothing new to copy does nothing (no sync). Frequent ones keep the WAL short,
 * which readers search on every page they read: checkpointing only once the WAL held 1,000 pages (SQLite's default,
 * told by the WAL's size with journal_size_limit = 0) gave back most of the gain. The main connection keeps a far higher autocheckpoint as a backstop, so the WAL stays bounded
 * should this thread fail or fall behind.
 */
/** A change in how the checkpoints fare. */
export interface CheckpointEvent {
  failure?: string;
  recovered?: boolean;
}

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private exited: Promise<void>;
  private failure: string | undefined;

  /**
   * @param report told when checkpoints start failing (with why, also when the thread cannot open the database) and
   *   when they work again
   */
  constructor(databasePath: string, walPath: string, report: (event: CheckpointEvent) => void = () => {}, intervalMs = CHECKPOINT_INTERVAL_MS) {
    const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    // Inline CommonJS, so the same code runs from src/ (tests, tsx) and from dist/.
    this.worker = new Worker(
      `
      const { statSync } = require('node:fs');
      const { parentPort, workerData } = require('node:worker_threads');
      const Database = require(workerData.betterSqlite);
      const db = new Database(workerData.databasePath);
      db.pragma('busy_timeout = 1000');
      // As the main connection: a checkpoint syncs the database file before the WAL is reused (wal-flusher.ts counts on it).
      db.pragma('synchronous = NORMAL');
      // A checkpoint reads nothing it needs to keep: better-sqlite3's 16 MB page cache would only add to the RSS.
      db.pragma('cache_size = -256');
      // An idle database is left alone: the WAL's modification time says whether anything was committed since.
      let checkpointedAt = -1;
      // Only changes are reported: a failure, then the first success after it.
      let failing = false;
      const timer = setInterval(() => {
        try {
          const modifiedAt = statSync(workerData.walPath, { throwIfNoEntry: false })?.mtimeMs ?? 0;
          if (modifiedAt === checkpointedAt) return;
          checkpointedAt = modifiedAt;
          db.pragma('wal_checkpoint(PASSIVE)');
          if (failing) parentPort.postMessage({ recovered: true });
          failing = false;
        } catch (error) {
          if (!failing) parentPort.postMessage({ failure: String(error && error.message) });
          failing = true;
        }
      }, workerData.intervalMs);
      parentPort.on('message', () => {
        clearInterval(timer);
        db.close();
        process.exit(0);
      });
      `,
      // A small heap: the thread runs one pragma now and then (its isolate still costs a few MiB of RSS).
      {
        eval: true,
        workerData: { databasePath, walPath, intervalMs, betterSqlite },
        resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
      },
    );
    this.worker.on('message', (event: CheckpointEvent) => {
      this.failure = event.failure;
      report(event);
    });
    this.worker.on('error', (error) => {
      this.failure = `the checkpoint thread stopped: ${error.message}`;
      report({ failure: this.failure });
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.unref();
  }

  /** The last checkpoint failure, if any: the main connection's backstop keeps the WAL bounded meanwhile. */
  get lastFailure(): string | undefined {
    return this.failure;
  }

  /** Stops the thread after closing its connection (a terminated thread would leave its locks to the process). */
  async close(): Promise<void> {
    // Unreferenced, the thread would not keep the process alive until it has closed: a caller awaiting this at the
    // end of a command would see the event loop run dry first.
    this.worker.ref();
    this.worker.postMessage('close');
    // A thread that does not answer (stopped by a debugger or tracer) must not hold shutdown: end it after a while.
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
