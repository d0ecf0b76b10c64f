// Expired access tokens are deleted inside the server, in batches, without anyone calling /oauth2/flush.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
