import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';

describe.each(DATABASES)('server smoke on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => t?.close());

  it('creates a client whose credentials yield a token that introspects as active', async () => {
    const created = await t.root.createClient({ grant_types: ['client_credentials'], scope: 'orders.read' });
    expect(created.client_secret).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);
    const token = await t.root.clientCredentialsToken('orders.read', { clientId: created.id, clientSecret: created.client_secret! });
    expect(token.token_type).toBe('bearer');
    const introspection = await t.root.introspect(token.access_token);
    expect(introspection).toMatchObject({ active: true, client_id: created.id, sub: created.id, scope: 'orders.read' });
  });
});
