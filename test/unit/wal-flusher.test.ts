import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aClient } from '../support/clients.js';
import { SqlClientStore } from '../../src/server/client/store.js';
import { migrateToLatest, openDatabase } from '../../src/db/database.js';
import { NotDurableError, WalFlusher } from '../../src/db/wal-flusher.js';

describe('WalFlusher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-wal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('syncs, and lets concurrent callers share the syncs', async () => {
    const path = join(dir, 'db-wal');
    writeFileSync(path, 'frames');
    const flusher = new WalFlusher(path);
    await Promise.all(Array.from({ length: 10 }, () => flusher.flush()));
    expect(flusher.failed).toBeUndefined();
    await flusher.close();
  });

  it('fails for good once a sync failed, with a 503 that says what it means', async () => {
    const flusher = new WalFlusher(join(dir, 'missing', 'db-wal'));
    const first = await flusher.flush().catch((error: unknown) => error);
    expect(first).toBeInstanceOf(NotDurableError);
    expect((first as NotDurableError).statusCode).toBe(503);
    expect((first as Error).message).toMatch(/could not be synced to disk.*accepts no more changes/);
    // Even once the file exists: a sync that succeeds after a failed one proves nothing about the frames lost.
    await expect(flusher.flush()).rejects.toBe(first);
    expect(flusher.failed).toBe(first);
  });
});

describe('client writes wait until they are durable', () => {
  it('does not settle a create, update or delete before makeDurable does', async () => {
    const database = openDatabase('memory');
    await migrateToLatest(database.db);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const store = new SqlClientStore(database.db, 'sqlite', () => gate);
    const client = { ...aClient({ id: 'durable', grant_types: [], response_types: [], public: true }), secretHash: null };
    const settled = (promise: Promise<unknown>) => Promise.race([promise.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 50))]);
    const created = store.create(client);
    expect(await settled(created)).toBe(false);
    release();
    expect(await created).toBe('created');

    let releaseAgain: () => void = () => {};
    const secondGate = new Promise<void>((resolve) => (releaseAgain = resolve));
    const gated = new SqlClientStore(database.db, 'sqlite', () => secondGate);
    const updated = gated.update({ ...client, client_name: 'renamed' });
    const deleted = updated.then(() => gated.delete('durable'));
    expect(await settled(updated)).toBe(false);
    releaseAgain();
    expect(await updated).toBe(true);
    expect(await deleted).toBe(true);
    await database.close();
  });
});
