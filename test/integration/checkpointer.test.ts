// SQLite checkpoints run on a worker thread (src/db/checkpointer.ts), not in a commit on the event loop: the database
// file takes in what the WAL holds while nothing on the main connection checkpoints.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundCheckpointer, type CheckpointEvent } from '../../src/db/checkpointer.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.js';

describe('background checkpoints on SQLite', () => {
  let dir: string;
  let database: DatabaseHandle;
  let path: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-checkpoint-'));
    path = join(dir, 'gatehouse.sqlite');
    database = openDatabase(`sqlite://${path}`);
    await migrateToLatest(database.db);
  });
  afterAll(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies the WAL into the database file although the main connection would not checkpoint for megabytes', async () => {
    // Far below the main connection's backstop (16,000 pages): only the worker can move these pages.
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
    expect(rows[0]!.wal_autocheckpoint).toBeGreaterThan(10_000);
    const before = statSync(path).size;
    const values = Array.from({ length: 2000 }, (_, i) => ({ id: `row-${i}`, document: 'x'.repeat(500) }));
    for (let i = 0; i < values.length; i += 200)
      await database.db
        .insertInto('policies')
        .values(values.slice(i, i + 200))
        .execute();
    await expect.poll(() => statSync(path).size, { timeout: 5000, interval: 100 }).toBeGreaterThan(before + 1_000_000);
  });

  it('stops its thread on close, so the process can exit and the file can be opened again', async () => {
    await database.close();
    database = openDatabase(`sqlite://${path}`);
    const { rows } = await sql<{ count: number }>`select count(*) as count from policies`.execute(database.db);
    expect(Number(rows[0]!.count)).toBe(2000);
  });

  it('reports a thread that cannot checkpoint (here: it cannot even open the database) with the reason', async () => {
    const events: CheckpointEvent[] = [];
    // A directory is no database: the thread fails at once.
    const broken = new BackgroundCheckpointer(dir, join(dir, 'none-wal'), (event) => events.push(event));
    await expect.poll(() => events.length, { timeout: 5000 }).toBe(1);
    expect(events[0]!.failure).toMatch(/the checkpoint thread stopped/);
    expect(broken.lastFailure).toBe(events[0]!.failure);
    await broken.close();
  });
});
