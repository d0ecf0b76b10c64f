// Third-party relying-party libraries against our server: if they accept our discovery document, token and
// introspection responses, so will the clients in the wild that use them.
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { createClient, machineClient, startServerWithOwnIssuer, uniqueId, type Credentials } from './helpers.js';

/** Plain http on loopback: both libraries refuse it unless told otherwise. */
const insecure = { execute: [client.allowInsecureRequests] };

describe.each(DATABASES)('openid-client and oauth4webapi against the server on %s', (kind) => {
  let t: TestServer;
  let orders: Credentials;

  beforeAll(async () => {
    // The issuer must be the URL the libraries discover from, so the server listens on a known port.
    t = await startServerWithOwnIssuer(kind);
    orders = await machineClient(t, 'orders.read orders.write');
  });
  afterAll(async () => t?.close());

  const discover = (credentials: Credentials, auth = client.ClientSecretBasic(credentials.secret)) =>
    client.discovery(new URL(t.url), credentials.id, undefined, auth, insecure);

  describe('openid-client', () => {
    it('discovers the server and validates its issuer', async () => {
      const config = await discover(orders);
      const metadata = config.serverMetadata();
      expect(metadata.issuer).toBe(t.url);
      expect(metadata.token_endpoint).toBe(`${t.url}/oauth2/token`);
      expect(metadata.introspection_endpoint).toBe(`${t.url}/oauth2/introspect`);
      expect(metadata.jwks_uri).toBe(`${t.url}/.well-known/jwks.json`);
    });

    it.each([
      ['client_secret_basic', (secret: string) => client.ClientSecretBasic(secret)],
      ['client_secret_post', (secret: string) => client.ClientSecretPost(secret)],
    ])('gets a token with clientCredentialsGrant (%s) and introspects it with tokenIntrospection', async (_method, auth) => {
      const config = await discover(orders, auth(orders.secret));
      const tokens = await client.clientCredentialsGrant(config, { scope: 'orders.read' });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('orders.read');
      expect(tokens.expires_in).toBe(3600);
      expect(tokens.expiresIn()).toBeGreaterThan(3500);
      expect(tokens.refresh_token).toBeUndefined();

      const introspection = await client.tokenIntrospection(config, tokens.access_token);
      expect(introspection).toMatchObject({ active: true, client_id: orders.id, sub: orders.id, scope: 'orders.read', iss: t.url });
      expect(await client.tokenIntrospection(config, tokens.access_token, { scope: 'orders.write' })).toEqual({ active: false });
      expect(await client.tokenIntrospection(config, 'not-a-token')).toEqual({ active: false });
    });

    it('authenticates a client whose id and secret need form-encoding in HTTP Basic', async () => {
      const id = `svc:odd@id+${uniqueId('x')}`;
      const secret = 'odd secret: with %, +, & and = inside it';
      await createClient(t, { id, client_secret: secret, grant_types: ['client_credentials'], scope: 'a' });
      const config = await discover({ id, secret });
      const tokens = await client.clientCredentialsGrant(config, { scope: 'a' });
      expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    });

    it('surfaces invalid_client and invalid_scope as OAuth errors', async () => {
      const wrong = await discover({ id: orders.id, secret: 'wrong-secret-wrong-secret-wrong-secret' });
      // A 401 carrying WWW-Authenticate comes back as a challenge error; the body is still the RFC 6749 one.
      const challenge = await client.clientCredentialsGrant(wrong).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(challenge).toBeInstanceOf(client.WWWAuthenticateChallengeError);
      const { status, cause, response } = challenge as client.WWWAuthenticateChallengeError;
      expect(status).toBe(401);
      expect(cause[0]?.scheme).toBe('basic');
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
      const config = await discover(orders);
      await expect(client.clientCredentialsGrant(config, { scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope', status: 400 });
    });
  });

  describe('oauth4webapi', () => {
    it('discovers, gets a client-credentials token and introspects it', async () => {
      const issuer = new URL(t.url);
      const options = { [oauth.allowInsecureRequests]: true };
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
      const rp: oauth.Client = { client_id: orders.id };
      const auth = oauth.ClientSecretPost(orders.secret);

      const tokenResponse = await oauth.clientCredentialsGrantRequest(as, rp, auth, { scope: 'orders.read orders.write' }, options);
      const tokens = await oauth.processClientCredentialsResponse(as, rp, tokenResponse);
      expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'orders.read orders.write' });

      const introspection = await oauth.processIntrospectionResponse(as, rp, await oauth.introspectionRequest(as, rp, auth, tokens.access_token, options));
      expect(introspection).toMatchObject({ active: true, client_id: orders.id, scope: 'orders.read orders.write' });
    });
  });
});

describe.each(DATABASES)('openid-client against a server whose ISSUER is not its URL, on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind); // ISSUER http://127.0.0.1:4444, listening elsewhere
  });
  afterAll(async () => t?.close());

  it('refuses the discovery document (issuer mismatch), so ISSUER must be set right', async () => {
    await expect(client.discovery(new URL(t.url), 'root', undefined, client.ClientSecretBasic('x'), insecure)).rejects.toThrow(/issuer/i);
  });
});
