// Hydra's client fields for audiences, CORS origins, logout URIs, consent skipping and per-client lifespans (and the
// free-text fields' refusal of control characters): stored,
// returned and replaced on both databases, refused with a 400 naming the problem, and each taking effect where the
// server can act on it (introspection's aud, a browser's CORS check, the consent request's skip, expires_in and exp).
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuth2ClientInput } from '../../src/sdk/types.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { CookieJar, decide, locationOf, visit } from '../support/user-agent.js';
import {
  createClient,
  expectManagementError,
  expectOAuthError,
  introspect,
  machineClient,
  managementRequest,
  rootBearer,
  startServerWithOwnIssuer,
  tokenRequest,
  withDatabase,
  type Credentials,
} from './helpers.js';

const CALLBACK = 'https://app.example/callback';
const APP = 'https://spa.example.com';
const GLOBAL = 'https://admin.example.com';
const STRANGER = 'https://evil.example.net';

const ALL_FIELDS: OAuth2ClientInput = {
  audience: ['https://api.example.com/v1', 'billing'],
  allowed_cors_origins: ['https://a.example.com', 'http://localhost:3000', 'capacitor://localhost'],
  post_logout_redirect_uris: ['https://app.example/logged-out'],
  skip_consent: true,
  authorization_code_grant_access_token_lifespan: '2m',
  authorization_code_grant_id_token_lifespan: '30m',
  authorization_code_grant_refresh_token_lifespan: '48h',
  client_credentials_grant_access_token_lifespan: '90s',
  implicit_grant_access_token_lifespan: '4m',
  implicit_grant_id_token_lifespan: '10m',
  refresh_token_grant_access_token_lifespan: '3m',
  refresh_token_grant_id_token_lifespan: '20m',
  refresh_token_grant_refresh_token_lifespan: '1h30m',
};

const DEFAULTS = {
  audience: [],
  allowed_cors_origins: [],
  post_logout_redirect_uris: [],
  skip_consent: false,
  ...Object.fromEntries(
    Object.keys(ALL_FIELDS)
      .filter((field) => field.endsWith('_lifespan'))
      .map((field) => [field, null]),
  ),
};

/** Seconds between two epoch-second claims. */
const lifetimeOf = (claims: { iat?: unknown; exp?: unknown }) => Number(claims.exp) - Number(claims.iat);

describe.each(DATABASES)('client fields on %s', (kind) => {
  let t: TestServer;
  let bearer: string;

  beforeAll(async () => {
    // Its own issuer: the consent request's redirectUrl, which the browser follows, is built from it.
    t = await startServerWithOwnIssuer(kind, { CORS_ENABLED: 'true', CORS_ALLOWED_ORIGINS: GLOBAL }, { devConsent: true });
    bearer = await rootBearer(t, 'hydra.clients hydra.consent');
  });
  afterAll(async () => t?.close());

  describe('stored and returned', () => {
    it('returns every field as created, on create and on GET, with defaults when left out', async () => {
      const created = await createClient(t, { grant_types: ['client_credentials'], ...ALL_FIELDS });
      expect(created).toMatchObject(ALL_FIELDS);
      expect(await t.root.getClient(created.id)).toMatchObject(ALL_FIELDS);
      const bare = await createClient(t, {});
      expect(await t.root.getClient(bare.id)).toMatchObject(DEFAULTS);
    });

    it('replaces them on PUT, and a PUT without them returns them to their defaults', async () => {
      const created = await createClient(t, ALL_FIELDS);
      const changed = {
        audience: ['urn:example:other'],
        allowed_cors_origins: ['https://b.example.com:8443'],
        post_logout_redirect_uris: ['http://127.0.0.1:8080/bye'],
        skip_consent: false,
        client_credentials_grant_access_token_lifespan: '1h',
        refresh_token_grant_refresh_token_lifespan: null,
      };
      expect(await t.root.updateClient(created.id, changed)).toMatchObject({ ...DEFAULTS, ...changed });
      expect(await t.root.getClient(created.id)).toMatchObject({ ...DEFAULTS, ...changed });
      await t.root.updateClient(created.id, {});
      expect(await t.root.getClient(created.id)).toMatchObject(DEFAULTS);
    });

    it('keeps each list once, in the order given', async () => {
      const created = await createClient(t, { audience: ['b', 'a', 'b'], allowed_cors_origins: ['https://c.example.com', 'https://c.example.com'] });
      expect(created).toMatchObject({ audience: ['b', 'a'], allowed_cors_origins: ['https://c.example.com'] });
    });
  });

  describe('refused with a 400 naming the field and the problem', () => {
    it.each<[string, OAuth2ClientInput, string]>([
      ['an empty audience', { audience: [''] }, 'audience.0: must not be empty'],
      ['an audience with a space', { audience: ['two words'] }, 'audience.0: must not contain spaces'],
      ['more than 100 audiences', { audience: Array.from({ length: 101 }, (_, i) => `a${i}`) }, 'audience: Too big: expected array to have <=100 items'],
      ['an origin with a path', { allowed_cors_origins: ['https://app.example.com/app'] }, 'allowed_cors_origins.0: must be an origin'],
      [
        'an origin spelled unlike a browser',
        { allowed_cors_origins: ['https://App.example.com:443'] },
        'must be written as browsers send it: https://app.example.com',
      ],
      ['a wildcard origin', { allowed_cors_origins: ['*'] }, 'allowed_cors_origins.0: a wildcard is not allowed here'],
      ['a javascript: logout URI', { post_logout_redirect_uris: ['javascript:alert(1)'] }, 'post_logout_redirect_uris.0: must not use the javascript: scheme'],
      ['an http logout URI to a public host', { post_logout_redirect_uris: ['http://app.example/bye'] }, 'post_logout_redirect_uris.0: must use https'],
      // PostgreSQL refuses a NUL byte in text: without these rules it answered 500 there and 201 on SQLite.
      ['a NUL byte in client_name', { client_name: 'shop\u0000' }, 'client_name: must not contain control characters'],
      ['a NUL byte in owner', { owner: 'team\u0000' }, 'owner: must not contain control characters'],
      ['a NUL byte in a contact', { contacts: ['ops@example.com\u0000'] }, 'contacts.0: must not contain control characters'],
      ['a NUL byte in logo_uri', { logo_uri: 'https://shop.example/logo\u0000.png' }, 'logo_uri: must not contain control characters'],
      ['a skip_consent that is no boolean', { skip_consent: 'yes' as unknown as boolean }, 'skip_consent: Invalid input: expected boolean'],
      ['a lifespan that is no duration', { client_credentials_grant_access_token_lifespan: '5 minutes' }, 'must be a duration such as 1h'],
      ['a lifespan under a second', { refresh_token_grant_access_token_lifespan: '500ms' }, 'refresh_token_grant_access_token_lifespan: must be at least 1s'],
      ['a lifespan over a year', { authorization_code_grant_refresh_token_lifespan: '8761h' }, 'must be at most 8760h'],
      [
        'an ID token outliving its signing key',
        { implicit_grant_id_token_lifespan: '2h' },
        'implicit_grant_id_token_lifespan: must be at most 1h: an ID token must expire',
      ],
    ])('%s', async (_what, body, problem) => {
      const created = await managementRequest(t, 'POST', '/clients', { token: bearer, json: body });
      expect((await expectManagementError(created, 400)).reason).toContain(problem);
      const existing = await createClient(t, {});
      const replaced = await managementRequest(t, 'PUT', `/clients/${existing.id}`, { token: bearer, json: body });
      expect((await expectManagementError(replaced, 400)).reason).toContain(problem);
    });
  });

  describe('audience', () => {
    let app: Credentials;
    beforeAll(async () => {
      app = await machineClient(t, 'read', { audience: ['https://api.example.com/v1', 'billing'] });
    });

    it('grants the requested audiences, stores them with the token, and introspection lists them as aud', async () => {
      const response = await tokenRequest(t, { credentials: app, form: { audience: 'https://api.example.com/v1/orders billing' } });
      const body = (await response.json()) as { access_token: string };
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(await introspect(t, body.access_token)).toMatchObject({ active: true, aud: ['https://api.example.com/v1/orders', 'billing'] });
      const rows = await withDatabase(t, (query) => query(`SELECT audience FROM access_tokens WHERE client_id = '${app.id}'`));
      expect(rows.map((row) => JSON.parse(String(row.audience)) as string[])).toContainEqual(['https://api.example.com/v1/orders', 'billing']);
    });

    it('refuses an audience outside the client list with invalid_request naming it', async () => {
      for (const audience of ['https://evil.example.com', 'https://api.example.com/v10', 'billing2']) {
        const refused = await expectOAuthError(await tokenRequest(t, { credentials: app, form: { audience: `billing ${audience}` } }), 400, 'invalid_request');
        expect(refused.error_description).toContain(`"${audience}"`);
      }
    });

    it('leaves aud naming the client when no audience is requested', async () => {
      const response = await tokenRequest(t, { credentials: app });
      const { access_token: token } = (await response.json()) as { access_token: string };
      expect(await introspect(t, token)).toMatchObject({ active: true, aud: app.id });
    });
  });

  describe('per-client lifespans', () => {
    it('set expires_in and exp for the client_credentials grant; other clients keep the server setting', async () => {
      const app = await machineClient(t, 'read', { client_credentials_grant_access_token_lifespan: '90s' });
      const response = await tokenRequest(t, { credentials: app });
      const body = (await response.json()) as { access_token: string; expires_in: number };
      expect(body.expires_in).toBe(90);
      expect(lifetimeOf(await introspect(t, body.access_token))).toBe(90);
      const other = await machineClient(t, 'read');
      expect(((await (await tokenRequest(t, { credentials: other })).json()) as { expires_in: number }).expires_in).toBe(3600);
    });

    it('set the access, ID and refresh tokens of the authorization code, refresh and implicit grants', async () => {
      const created = await createClient(t, {
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code', 'refresh_token', 'implicit'],
        response_types: ['code', 'id_token token'],
        scope: 'openid offline',
        ...ALL_FIELDS,
        skip_consent: false,
      });
      const app = { id: created.id, secret: created.client_secret! };

      // The code grant, with an audience on the exchange too.
      const code = (await authorize(app.id, 'code')).searchParams.get('code')!;
      const exchanged = await tokenRequest(t, {
        credentials: app,
        form: { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, audience: 'billing' },
      });
      const tokens = (await exchanged.json()) as { access_token: string; expires_in: number; id_token: string; refresh_token: string };
      expect(exchanged.status, JSON.stringify(tokens)).toBe(200);
      expect(tokens.expires_in).toBe(120);
      expect(await introspect(t, tokens.access_token)).toMatchObject({ aud: ['billing'], exp: expect.any(Number) });
      expect(lifetimeOf(await introspect(t, tokens.access_token))).toBe(120);
      expect(lifetimeOf(decodeJwt(tokens.id_token))).toBe(30 * 60);
      expect(await liveRefreshLifetime(app.id)).toBe(48 * 3600);

      const refreshed = await tokenRequest(t, { credentials: app, form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } });
      const renewed = (await refreshed.json()) as { access_token: string; expires_in: number; id_token: string };
      expect(refreshed.status, JSON.stringify(renewed)).toBe(200);
      expect(renewed.expires_in).toBe(180);
      expect(lifetimeOf(await introspect(t, renewed.access_token))).toBe(180);
      expect(lifetimeOf(decodeJwt(renewed.id_token))).toBe(20 * 60);
      expect(await liveRefreshLifetime(app.id)).toBe(90 * 60);

      const fragment = new URLSearchParams((await authorize(app.id, 'id_token token')).hash.slice(1));
      expect(fragment.get('expires_in')).toBe('240');
      expect(lifetimeOf(await introspect(t, fragment.get('access_token')!))).toBe(240);
      expect(lifetimeOf(decodeJwt(fragment.get('id_token')!))).toBe(10 * 60);
    });

    /** Seconds the client's unused refresh token lives, from its row. */
    async function liveRefreshLifetime(clientId: string): Promise<number> {
      const rows = await withDatabase(t, (query) =>
        query(`SELECT issued_at, expires_at FROM refresh_tokens WHERE client_id = '${clientId}' AND used_at IS NULL`),
      );
      expect(rows).toHaveLength(1);
      return (Number(rows[0]!.expires_at) - Number(rows[0]!.issued_at)) / 1000;
    }
  });

  describe('skip_consent', () => {
    it('shows as skip on the consent request the consent app reads', async () => {
      for (const skip of [true, false]) {
        const app = await createClient(t, { redirect_uris: [CALLBACK], scope: 'openid offline', skip_consent: skip });
        const consentId = await consentIdOf(app.id, 'code');
        const read = await managementRequest(t, 'GET', `/oauth2/consent/requests/${consentId}`, { token: bearer });
        expect(read.status).toBe(200);
        expect(await read.json()).toMatchObject({ clientId: app.id, skip });
      }
    });

    it('makes the development consent page accept at once', async () => {
      const app = await createClient(t, { redirect_uris: [CALLBACK], scope: 'openid offline', skip_consent: true });
      const jar = new CookieJar();
      const toConsent = locationOf(await visit(authorizeUrl(app.id, 'code'), jar));
      const page = await visit(`${t.url}/dev/consent?consent=${toConsent.searchParams.get('consent')}`, jar);
      expect(page.status).toBe(303);
      const callback = locationOf(await visit(page.headers.get('location')!, jar));
      expect(callback.searchParams.get('code')).toBeTruthy();
    });
  });

  describe('allowed_cors_origins', () => {
    const preflight = (path: string, origin: string) =>
      fetch(`${t.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowedOrigin = (response: Response) => response.headers.get('access-control-allow-origin');

    it("allows a client's origin on the public OAuth 2.0 endpoints, not a foreign one, nor on the management API", async () => {
      expect(allowedOrigin(await preflight('/oauth2/token', APP))).toBeNull();
      const app = await machineClient(t, 'read', { allowed_cors_origins: [APP] });

      for (const path of ['/oauth2/token', '/oauth2/revoke', '/userinfo']) {
        const response = await preflight(path, APP);
        expect(response.status, path).toBe(204);
        expect(allowedOrigin(response), path).toBe(APP);
        expect(response.headers.get('vary')?.toLowerCase()).toContain('origin');
      }
      const token = await tokenRequest(t, { credentials: app, headers: { origin: APP } });
      expect(token.status).toBe(200);
      expect(allowedOrigin(token)).toBe(APP);
      const discovery = await fetch(`${t.url}/.well-known/openid-configuration`, { headers: { origin: APP } });
      expect(allowedOrigin(discovery)).toBe(APP);

      expect(allowedOrigin(await preflight('/oauth2/token', STRANGER))).toBeNull();
      expect(allowedOrigin(await tokenRequest(t, { credentials: app, headers: { origin: STRANGER } }))).toBeNull();
      expect(allowedOrigin(await preflight('/clients', APP))).toBeNull();
      // The configured origins keep working everywhere.
      expect(allowedOrigin(await preflight('/clients', GLOBAL))).toBe(GLOBAL);
    });

    it('is read from the database by another replica, and stops when the client drops the origin or is deleted', async () => {
      const origin = `https://replica-${kind}.example.com`;
      const app = await createClient(t, { allowed_cors_origins: [origin] });
      const replica = await startTestServer(kind, { CORS_ENABLED: 'true', CORS_ALLOWED_ORIGINS: GLOBAL }, t.databaseUrl);
      try {
        const onReplica = await fetch(`${replica.url}/oauth2/token`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST' },
        });
        expect(allowedOrigin(onReplica)).toBe(origin);
      } finally {
        await replica.close();
      }
      await t.root.updateClient(app.id, { allowed_cors_origins: [] });
      expect(allowedOrigin(await preflight('/oauth2/token', origin))).toBeNull();
      await t.root.updateClient(app.id, { allowed_cors_origins: [origin] });
      expect(allowedOrigin(await preflight('/oauth2/token', origin))).toBe(origin);
      await t.root.deleteClient(app.id);
      expect(allowedOrigin(await preflight('/oauth2/token', origin))).toBeNull();
    });
  });

  const authorizeUrl = (clientId: string, responseType: string) =>
    new URL(
      `${t.url}/oauth2/auth?${new URLSearchParams({ client_id: clientId, response_type: responseType, scope: 'openid offline', state: 'state-of-8+', nonce: 'nonce-1', redirect_uri: CALLBACK })}`,
    );

  async function consentIdOf(clientId: string, responseType: string): Promise<string> {
    const toConsent = locationOf(await visit(authorizeUrl(clientId, responseType), new CookieJar()));
    return toConsent.searchParams.get('consent')!;
  }

  /** A browser through the authorization endpoint, alice consenting to everything: where it lands at the client. */
  async function authorize(clientId: string, responseType: string): Promise<URL> {
    const jar = new CookieJar();
    const toConsent = locationOf(await visit(authorizeUrl(clientId, responseType), jar));
    const request = await decide(t, bearer, toConsent.searchParams.get('consent')!, { accept: { subject: 'alice', grantScopes: ['openid', 'offline'] } });
    return locationOf(await visit(request.redirectUrl, jar));
  }
});
