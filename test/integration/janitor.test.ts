// Expired access tokens are deleted inside the server, in batches, without anyone calling /oauth2/flush.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JANITOR_LOCK } from '../../src/db/expired-rows.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { allRows, issueToken, machineClient, metricValue, sleep } from './helpers.js';

describe.each(DATABASES)('the token janitor on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    // Tokens live one second and are kept 100 ms past expiry; passes every 300 ms, two rows per statement, so one
    // pass needs several batches.
    t = await startTestServer(kind, { ACCESS_TOKEN_LIFESPAN: '1s', JANITOR_INTERVAL: '300ms', JANITOR_RETENTION: '100ms', JANITOR_BATCH_SIZE: '2' });
  });
  afterAll(async () => t?.close());

  it('deletes expired access tokens in batches and counts them, leaving live ones', async () => {
    const client = await machineClient(t, 'j.read');
    const countOf = async () => (await allRows(t, 'access_tokens')).filter((row) => row.client_id === client.id).length;
    for (let i = 0; i < 5; i++) await issueToken(t, client, 'j.read');
    expect(await countOf()).toBe(5);
    const deletedBefore = await metricValue(t, 'gatehouse_janitor_deleted_total', { kind: 'access_token' });
    const deadline = Date.now() + 10_000;
    while ((await countOf()) > 0 && Date.now() < deadline) await sleep(200);
    expect(await countOf()).toBe(0);
    expect((await metricValue(t, 'gatehouse_janitor_deleted_total', { kind: 'access_token' })) - deletedBefore).toBeGreaterThanOrEqual(5);
    // A token issued now is left alone by the next passes.
    await issueToken(t, client, 'j.read');
    await sleep(700);
    expect(await countOf()).toBe(1);
  });
});

// Replicas share one PostgreSQL database; the janitor's batches take a transaction-level advisory lock, so while one
// replica's batch runs (here: while the test holds that lock) no other replica deletes. Once it is free, the two
// replicas' passes run side by side without errors and clear every expired token.
describe('the token janitor on two PostgreSQL replicas', () => {
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    const settings = { ACCESS_TOKEN_LIFESPAN: '1s', JANITOR_INTERVAL: '200ms', JANITOR_RETENTION: '50ms', JANITOR_BATCH_SIZE: '3' };
    first = await startTestServer('postgres', settings);
    second = await startTestServer('postgres', settings, first.databaseUrl);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('deletes nothing while another batch holds the lock, then every expired token', async () => {
    const client = await machineClient(first, 'r.read');
    const countOf = async () => (await allRows(first, 'access_tokens')).filter((row) => row.client_id === client.id).length;
    const deletedSoFar = async () =>
      (await metricValue(first, 'gatehouse_janitor_deleted_total', { kind: 'access_token' })) +
      (await metricValue(second, 'gatehouse_janitor_deleted_total', { kind: 'access_token' }));
    const deletedBefore = await deletedSoFar();

    let expiredAtUnlock = 0;
    const holder = new pg.Client({ connectionString: first.databaseUrl });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [JANITOR_LOCK]);
      for (let i = 0; i < 10; i++) await issueToken(i % 2 ? first : second, client, 'r.read');
      expect(await countOf()).toBe(10);
      // Expired after 1 s and kept 50 ms: by now each replica has had several passes at them.
      await sleep(2_000);
      expect(await countOf()).toBe(10);
      expect(await deletedSoFar()).toBe(deletedBefore);
      // Every token is expired by now, the root client's own (it created the client) among them.
      expiredAtUnlock = (await allRows(first, 'access_tokens')).length;
      await holder.query('select pg_advisory_unlock($1)', [JANITOR_LOCK]);
    } finally {
      await holder.end();
    }

    const deadline = Date.now() + 10_000;
    while ((await allRows(first, 'access_tokens')).length > 0 && Date.now() < deadline) await sleep(100);
    expect(await countOf()).toBe(0);
    expect((await deletedSoFar()) - deletedBefore).toBe(expiredAtUnlock);
  });
});
