import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';

describe.each(DATABASES)('SDK on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => t?.close());

  it('fetches a new management token once when the cached one stops working, for every call including listing', async () => {
    await t.root.createClient({ id: `sdk-${kind}`, grant_types: ['client_credentials'] });
    const first = await t.root.accessToken();
    // What a wiped database or a flush does to the SDK's cached token: the server no longer knows it.
    await t.server.database.db.deleteFrom('access_tokens').execute();

    const page = await t.root.listClients({ limit: 500 });
    expect(page.clients.map((client) => client.id)).toContain(`sdk-${kind}`);
    const second = await t.root.accessToken();
    expect(second).not.toBe(first);

    await t.server.database.db.deleteFrom('access_tokens').execute();
    expect((await t.root.getClient(`sdk-${kind}`)).id).toBe(`sdk-${kind}`);
    expect(await t.root.accessToken()).not.toBe(second);
  });

  it('pages through every client with allClients', async () => {
    for (let i = 0; i < 7; i++) await t.root.createClient({ id: `page-${kind}-${i}`, public: true });
    const ids: string[] = [];
    for await (const client of t.root.allClients(3)) ids.push(client.id);
    expect(ids.filter((id) => id.startsWith(`page-${kind}-`))).toEqual(Array.from({ length: 7 }, (_, i) => `page-${kind}-${i}`));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
