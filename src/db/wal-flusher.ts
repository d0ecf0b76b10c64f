import { dirname } from 'node:path';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * A committed write could not be made to survive power loss: the disk refused to sync the WAL. Answered 503; once
 * it happens, every later durable write fails the same way (see WalFlusher).
 */
export class NotDurableError extends Error {
  readonly statusCode = 503;

  constructor(cause: unknown) {
    super(
      `the database could not be synced to disk (${cause instanceof Error ? cause.message : String(cause)}): the change was committed but may not survive a power cut, and the server accepts no more changes until it is restarted`,
      { cause },
    );
  }
}

/**
 * What synchronous=FULL would do for the writes that need it, without its cost where it does not: FULL makes SQLite
 * fsync the WAL at every commit, on the event loop's thread (better-sqlite3 is synchronous), token batches included.
 * Instead the WAL file is fdatasync'ed from libuv's thread pool after the writes that must survive power loss. That
 * covers every frame committed before the call; frames a checkpoint has already moved were synced into the database
 * file by the checkpoint itself (SQLite syncs both sides of a checkpoint under NORMAL). The WAL keeps its inode while
 * the connection is open (a restart rewrites it in place), so one descriptor serves the process's life.
 *
 * A failed sync is final. Linux marks the pages of a failed writeback clean and reports the error once, so a later
 * sync could succeed over a WAL with frames missing, and recovery stops at the first gap, losing every write after
 * it: the flusher never retries, and the server stops acknowledging changes (the same choice PostgreSQL made).
 */
export class WalFlusher {
  private handle: Promise<FileHandle> | undefined;
  private failure: NotDurableError | undefined;
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly path: string) {}

  /** Settles once every frame committed before the call is on disk; concurrent callers share syncs. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.inFlight) {
      this.inFlight = this.syncNow().finally(() => (this.inFlight = undefined));
      return this.inFlight;
    }
    // The sync under way may have started before this caller's commit: one more after it serves everyone who
    // arrives meanwhile.
    this.queued ??= this.inFlight
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        return this.flush();
      });
    return this.queued;
  }

  /** Why changes can no longer be made durable, if they cannot. */
  get failed(): NotDurableError | undefined {
    return this.failure;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }

  private async syncNow(): Promise<void> {
    try {
      this.handle ??= this.openOnce();
      await (await this.handle).datasync();
    } catch (error) {
      this.failure ??= new NotDurableError(error);
      throw this.failure;
    }
  }

  private async openOnce(): Promise<FileHandle> {
    const handle = await open(this.path, 'r+');
    try {
      // The WAL's own directory entry must outlive power loss too, or the synced file could vanish with it.
      const directory = await open(dirname(this.path), 'r');
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
      return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
}
