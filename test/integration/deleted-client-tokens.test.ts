// Deleting a client deletes its tokens, but a token request that authenticated the client a moment before the
// deletion (here, or on another replica within its credential cache's lifetime) can still write its token after it.
// Such a token must be as good as unknown wherever a token is presented without its client, and stay so when a client
// with the same id is created again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { createClient, introspect, issueToken } from './helpers.js';

describe.each(DATABASES)('a token written after its client was deleted, on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => t?.close());

  it('is inactive at introspection, refused by userinfo and by the management guard', async () => {
    const client = await createClient(t, { grant_types: ['client_credentials'], scope: 'hydra.clients read' });
    const token = await issueToken(t, { id: client.id, secret: client.client_secret! }, 'hydra.clients read');
    expect((await introspect(t, token)).active).toBe(true);

    // What the race leaves behind: the client row gone, its token row still there.
    await t.server.database.db.deleteFrom('clients').where('id', '=', client.id).execute();
    const left = await t.server.database.db.selectFrom('access_tokens').select('client_id').where('client_id', '=', client.id).execute();
    expect(left).toHaveLength(1);

    expect(await introspect(t, token)).toEqual({ active: false });
    const userinfo = await fetch(`${t.url}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(userinfo.status).toBe(401);
    const listing = await fetch(`${t.url}/clients`, { headers: { authorization: `Bearer ${token}` } });
    expect(listing.status).toBe(401);
  });

  it('stays dead when a client with the same id is created again', async () => {
    const client = await createClient(t, { grant_types: ['client_credentials'], scope: 'read' });
    const token = await issueToken(t, { id: client.id, secret: client.client_secret! }, 'read');
    await t.server.database.db.deleteFrom('clients').where('id', '=', client.id).execute();
    // The same id again, as an operator restoring a lost client or a GitOps repository re-applying it does.
    const again = await createClient(t, { id: client.id, grant_types: ['client_credentials'], scope: 'read' });
    expect(await introspect(t, token)).toEqual({ active: false });
    expect((await introspect(t, await issueToken(t, { id: again.id, secret: again.client_secret! }, 'read'))).active).toBe(true);
  });
});
