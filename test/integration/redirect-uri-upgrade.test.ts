// Redirect URIs stored before the scheme rules existed (non-loopback http, private-use schemes on confidential
// clients) must not make their client impossible to update, which is what the operator does on every drift or
// secret push; new URIs still follow the rules, and schemes a browser would run are refused whatever was stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { createClient, expectManagementError, managementRequest, uniqueId, withDatabase } from './helpers.js';

describe.each(DATABASES)('redirect URIs stored before the rules, on %s', (kind) => {
  let t: TestServer;
  let bearer: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    bearer = await t.root.accessToken();
  });
  afterAll(async () => t?.close());

  async function legacyClient(uris: string[]): Promise<string> {
    const id = uniqueId('legacy');
    await createClient(t, { id, grant_types: ['authorization_code'], redirect_uris: ['https://app.example/cb'] });
    // As an older server stored it: straight into the row.
    await withDatabase(t, (query) => query(`UPDATE clients SET redirect_uris = '${JSON.stringify(uris)}' WHERE id = '${id}'`));
    return id;
  }

  it('keeps an update possible with the URIs the client already has', async () => {
    const uris = ['http://app.internal/cb', 'myapp.legacy:/cb'];
    const id = await legacyClient(uris);
    const response = await managementRequest(t, 'PUT', `/clients/${id}`, {
      token: bearer,
      json: { grant_types: ['authorization_code'], redirect_uris: uris, client_name: 'renamed' },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ client_name: 'renamed', redirect_uris: uris });
  });

  it('still refuses a new URI that breaks the rules, and a stored javascript: URI', async () => {
    const id = await legacyClient(['http://app.internal/cb', 'javascript:alert(1)']);
    const added = await managementRequest(t, 'PUT', `/clients/${id}`, {
      token: bearer,
      json: { grant_types: ['authorization_code'], redirect_uris: ['http://app.internal/cb', 'http://other.internal/cb'] },
    });
    expect(JSON.stringify(await expectManagementError(added, 400))).toMatch(/redirect_uris\.1/);
    const kept = await managementRequest(t, 'PUT', `/clients/${id}`, {
      token: bearer,
      json: { grant_types: ['authorization_code'], redirect_uris: ['http://app.internal/cb', 'javascript:alert(1)'] },
    });
    expect(JSON.stringify(await expectManagementError(kept, 400))).toMatch(/javascript/);
  });
});
