// The browser flows, driven end to end by the certified relying-party library openid-client (v6) against the real
// server on both databases: discovery, authorization code with PKCE (confidential and public clients), refresh with
// rotation and narrower scopes, offline access, revocation, and the implicit and hybrid response types. The browser
// and the consent app are simulated by test/support/user-agent.ts. If openid-client accepts every response here, so
// will the relying parties in the wild that use it; where it checks less than OpenID Connect Core requires of a
// client (at_hash), the test checks by hand and says so.
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsentAcceptanceInput } from '../../src/contract/consent.js';
import type { OAuth2ClientInput } from '../../src/sdk/types.js';
import { DATABASES, type TestServer } from '../support/server.js';
import { authorizeInBrowser, CookieJar, locationOf, visit } from '../support/user-agent.js';
import { createClient, machineClient, rootBearer, startServerWithOwnIssuer } from './helpers.js';

const CONSENT_URL = 'http://consent.example/consent';
const CALLBACK = 'http://127.0.0.1:8080/callback';
const SCOPE = 'openid offline offline_access orders.read orders.write';

/** What the consent app decides for the user alice: the claims travel into tokens, introspection and userinfo. */
const ACCESS_TOKEN_EXTRA = { tenant: 'acme', roles: ['admin', 'billing'] };
const ID_TOKEN_EXTRA = { email: 'alice@example.com', email_verified: true, name: 'Alice Example' };
const acceptAs = (grantScopes: string[]): ConsentAcceptanceInput => ({
  subject: 'alice',
  grantScopes,
  accessTokenExtra: ACCESS_TOKEN_EXTRA,
  idTokenExtra: ID_TOKEN_EXTRA,
});

/**
 * at_hash and c_hash for RS256 (OpenID Connect Core §3.1.3.6, §3.3.2.11): the left half of the SHA-256 of the ASCII
 * value, base64url. Neither openid-client nor oauth4webapi ever checks at_hash (they validate ID tokens from the token
 * endpoint as TLS-protected, and implicitAuthentication ignores the access token beside the ID token), so the tests
 * compare it by hand; c_hash the library checks itself in the hybrid flow.
 */
const halfHash = (value: string) => createHash('sha256').update(value, 'ascii').digest().subarray(0, 16).toString('base64url');

type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

interface RelyingParty {
  id: string;
  config: client.Configuration;
}

/** One visit to the authorization endpoint and back: what the relying party kept in its session, and where it landed. */
interface Login {
  state: string;
  nonce: string;
  verifier: string;
  callback: URL;
  /** Epoch seconds just before the user consented: auth_time may not be earlier. */
  startedAt: number;
}

/** The error a promise rejects with (failing the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

/**
 * openid-client's refusal of a response whose JWT claim or JSON attribute (`kind`) `name` differs from the expected
 * one: a ClientError wrapping oauth4webapi's OperationProcessingError, which names what differed.
 */
function expectComparisonFailure(error: unknown, kind: 'claim' | 'attribute', name: string) {
  expect(error).toBeInstanceOf(client.ClientError);
  const { code, cause } = error as client.ClientError;
  expect(code).toBe(kind === 'claim' ? 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' : 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED');
  expect((cause as { cause?: Record<string, unknown> }).cause?.[kind]).toBe(name);
}

describe.each(DATABASES)('OpenID Connect flows driven by openid-client on %s', (kind) => {
  let t: TestServer;
  let consentBearer: string;
  /** An API that checks the tokens it is sent, through openid-client's tokenIntrospection. */
  let resourceServer: client.Configuration;

  beforeAll(async () => {
    t = await startServerWithOwnIssuer(kind, { CONSENT_URL });
    consentBearer = await rootBearer(t, 'hydra.consent');
    const api = await machineClient(t, 'api');
    resourceServer = await client.discovery(new URL(t.url), api.id, undefined, client.ClientSecretBasic(api.secret), {
      execute: [client.allowInsecureRequests],
    });
  });
  afterAll(async () => t?.close());

  /**
   * Registers a client and configures openid-client for it from discovery. Non-repudiation checks make the library
   * verify every ID token's signature against the JWKS, also those from the token endpoint (which it otherwise trusts
   * to TLS and only checks the claims of).
   */
  async function relyingParty(input: OAuth2ClientInput, auth: AuthMethod, ...execute: ((config: client.Configuration) => void)[]): Promise<RelyingParty> {
    const registered = await createClient(t, { redirect_uris: [CALLBACK], scope: SCOPE, ...input, public: auth === 'none' });
    const secret = registered.client_secret!;
    const clientAuth = auth === 'none' ? client.None() : auth === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
    const config = await client.discovery(new URL(t.url), registered.id, undefined, clientAuth, {
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks, ...execute],
    });
    return { id: registered.id, config };
  }

  /** The authorization request openid-client builds, through the browser and the consent app's acceptance. */
  async function login(rp: RelyingParty, parameters: Record<string, string>, accept: ConsentAcceptanceInput, pkce = true): Promise<Login> {
    const state = client.randomState();
    const nonce = client.randomNonce();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: CALLBACK,
      state,
      nonce,
      ...(pkce ? { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' } : {}),
      ...parameters,
    });
    const startedAt = Math.floor(Date.now() / 1000);
    const callback = await authorizeInBrowser(t, consentBearer, url, { accept });
    expect(callback.href.startsWith(CALLBACK), callback.href).toBe(true);
    return { state, nonce, verifier, callback, startedAt };
  }

  /** The authorization code flow with PKCE, the code exchanged by openid-client, which validates the ID token. */
  async function codeFlow(rp: RelyingParty, scope: string, grantScopes: string[]) {
    const session = await login(rp, { scope }, acceptAs(grantScopes));
    expect(session.callback.searchParams.get('code')).toBeTruthy();
    const tokens = await client.authorizationCodeGrant(rp.config, session.callback, {
      pkceCodeVerifier: session.verifier,
      expectedState: session.state,
      expectedNonce: session.nonce,
    });
    return { session, tokens };
  }

  /** The claims every ID token issued under acceptAs() carries. */
  function expectIdTokenClaims(claims: client.IDToken | undefined, rp: RelyingParty, session: Pick<Login, 'startedAt'>) {
    expect(claims).toBeDefined();
    expect(claims).toMatchObject({ iss: t.url, aud: rp.id, sub: 'alice', ...ID_TOKEN_EXTRA });
    expect(claims!.auth_time).toBeTypeOf('number');
    expect(claims!.auth_time).toBeGreaterThanOrEqual(session.startedAt);
    expect(claims!.auth_time).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    // The access token's claims stay out of the ID token.
    expect(claims).not.toHaveProperty('tenant');
    return claims!;
  }

  /** The access token is live for the API, for alice, with the consent's accessTokenExtra as ext. */
  async function expectActive(accessToken: string, rp: RelyingParty, scope: string) {
    expect(await client.tokenIntrospection(resourceServer, accessToken)).toMatchObject({
      active: true,
      client_id: rp.id,
      sub: 'alice',
      scope,
      iss: t.url,
      ext: ACCESS_TOKEN_EXTRA,
    });
  }

  describe('discovery', () => {
    it('is accepted by openid-client and names the browser-flow endpoints', async () => {
      const rp = await relyingParty({ grant_types: ['authorization_code'] }, 'client_secret_basic');
      const metadata = rp.config.serverMetadata();
      expect(metadata).toMatchObject({
        issuer: t.url,
        authorization_endpoint: `${t.url}/oauth2/auth`,
        token_endpoint: `${t.url}/oauth2/token`,
        userinfo_endpoint: `${t.url}/userinfo`,
        revocation_endpoint: `${t.url}/oauth2/revoke`,
        jwks_uri: `${t.url}/.well-known/jwks.json`,
      });
      expect(metadata.response_types_supported).toEqual(expect.arrayContaining(['code', 'id_token', 'id_token token', 'code id_token', 'code id_token token']));
      expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
      expect(metadata.code_challenge_methods_supported).toContain('S256');
      expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256']);
      expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access']));
      // openid-client builds its authorization URLs on the advertised endpoint.
      expect(client.buildAuthorizationUrl(rp.config, { scope: 'openid' }).href.startsWith(`${t.url}/oauth2/auth?`)).toBe(true);
    });

    it('advertises only response types the authorization endpoint takes', async () => {
      const { response_types_supported: advertised = [] } = (
        await client.discovery(new URL(t.url), 'root', undefined, client.None(), {
          execute: [client.allowInsecureRequests],
        })
      ).serverMetadata();
      expect(advertised.length).toBeGreaterThan(0);
      const rp = await relyingParty({ grant_types: ['authorization_code', 'implicit'], response_types: advertised }, 'none');
      for (const responseType of advertised) {
        const url = client.buildAuthorizationUrl(rp.config, {
          redirect_uri: CALLBACK,
          response_type: responseType,
          scope: 'openid',
          state: client.randomState(),
          nonce: client.randomNonce(),
          ...(responseType.includes('code') ? { code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()) } : {}),
          ...(responseType.includes('code') ? { code_challenge_method: 'S256' } : {}),
        });
        // Taken: the browser goes on to the consent app, not back to the client with an error.
        const next = locationOf(await visit(url, new CookieJar()));
        expect(`${next.origin}${next.pathname}`, `${responseType}: ${next.href}`).toBe(CONSENT_URL);
      }
    });

    // OpenID Connect Discovery §3 (and RFC 8414 §2): grant_types_supported lists every grant the OP supports, and
    // defaults to ["authorization_code", "implicit"] when absent. The implicit grant is served by the authorization
    // endpoint, not the token endpoint, yet a relying party reading the document must see it beside the id_token and
    // token response types it advertises.
    it('advertises the implicit grant, which the id_token and token response types it advertises are', async () => {
      const metadata = (await relyingParty({}, 'client_secret_basic')).config.serverMetadata();
      expect(metadata.response_types_supported).toEqual(expect.arrayContaining(['id_token', 'id_token token']));
      expect(metadata.grant_types_supported).toContain('implicit');
    });

    // RFC 8414 §2 / OpenID Connect Discovery §3: "none" is the auth method of public clients, which the token and
    // revocation endpoints accept (the public-client tests below prove it); revocation_endpoint_auth_methods_supported
    // defaults to client_secret_basic alone when absent. Soft, so both lists are reported.
    it('advertises auth method none for the token and revocation endpoints, which its public clients use', async () => {
      const metadata = (await relyingParty({}, 'client_secret_basic')).config.serverMetadata();
      const all = ['client_secret_basic', 'client_secret_post', 'none'];
      expect.soft(metadata.token_endpoint_auth_methods_supported, 'token_endpoint_auth_methods_supported').toEqual(expect.arrayContaining(all));
      expect.soft(metadata.revocation_endpoint_auth_methods_supported, 'revocation_endpoint_auth_methods_supported').toEqual(expect.arrayContaining(all));
    });
  });

  describe('authorization code with PKCE', () => {
    it.each(['client_secret_basic', 'client_secret_post'] as const)(
      'a confidential client (%s) gets an ID token openid-client validates, a live access token and userinfo',
      async (method) => {
        const rp = await relyingParty({ grant_types: ['authorization_code', 'refresh_token'] }, method);
        const { session, tokens } = await codeFlow(rp, 'openid offline_access orders.read', ['openid', 'offline_access', 'orders.read']);

        expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'openid offline_access orders.read' });
        expect(tokens.refresh_token).toBeTypeOf('string');
        // Validated by the library: signature (JWKS), iss, aud, exp, iat and the nonce of this login.
        const claims = expectIdTokenClaims(tokens.claims(), rp, session);
        expect(claims.nonce).toBe(session.nonce);
        expect(claims.at_hash).toBe(halfHash(tokens.access_token));

        await expectActive(tokens.access_token, rp, 'openid offline_access orders.read');
        expect(await client.fetchUserInfo(rp.config, tokens.access_token, 'alice')).toEqual({ sub: 'alice', ...ID_TOKEN_EXTRA });
        // The library checks userinfo's sub against the ID token's.
        expectComparisonFailure(await rejectionOf(client.fetchUserInfo(rp.config, tokens.access_token, 'mallory')), 'attribute', 'sub');
      },
    );

    it('a public client (no secret, openid-client None()) with PKCE gets validated tokens and can refresh them', async () => {
      const rp = await relyingParty({ grant_types: ['authorization_code', 'refresh_token'] }, 'none');
      const { session, tokens } = await codeFlow(rp, 'openid offline_access', ['openid', 'offline_access']);

      const claims = expectIdTokenClaims(tokens.claims(), rp, session);
      expect(claims.nonce).toBe(session.nonce);
      expect(claims.at_hash).toBe(halfHash(tokens.access_token));
      await expectActive(tokens.access_token, rp, 'openid offline_access');
      expect(await client.fetchUserInfo(rp.config, tokens.access_token, 'alice')).toEqual({ sub: 'alice', ...ID_TOKEN_EXTRA });

      const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
      expect(refreshed.refresh_token).toBeTypeOf('string');
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      await expectActive(refreshed.access_token, rp, 'openid offline_access');
    });

    it('a public client without PKCE is sent back with invalid_request, which openid-client surfaces', async () => {
      const rp = await relyingParty({ grant_types: ['authorization_code'] }, 'none');
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(rp.config, { redirect_uri: CALLBACK, scope: 'openid', state });
      const callback = locationOf(await visit(url, new CookieJar()));
      expect(`${callback.origin}${callback.pathname}`).toBe(CALLBACK);
      const error = await rejectionOf(client.authorizationCodeGrant(rp.config, callback, { expectedState: state }));
      expect(error).toBeInstanceOf(client.AuthorizationResponseError);
      expect(error).toMatchObject({ error: 'invalid_request' });
    });
  });

  describe('refresh tokens', () => {
    it('rotate: a new refresh token, the old access token dead, a new valid ID token, narrower scopes on request', async () => {
      const rp = await relyingParty({ grant_types: ['authorization_code', 'refresh_token'] }, 'client_secret_basic');
      const full = 'openid offline_access orders.read orders.write';
      const { session, tokens } = await codeFlow(rp, full, full.split(' '));
      const original = tokens.claims()!;

      const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
      expect(refreshed.refresh_token).toBeTypeOf('string');
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(refreshed.access_token).not.toBe(tokens.access_token);
      expect(refreshed.scope).toBe(full);
      expect(await client.tokenIntrospection(resourceServer, tokens.access_token)).toEqual({ active: false });
      await expectActive(refreshed.access_token, rp, full);
      // OpenID Connect Core §12.2: same iss, sub, aud and auth_time as the original; signature checked by the library.
      const claims = expectIdTokenClaims(refreshed.claims(), rp, session);
      expect(claims.auth_time).toBe(original.auth_time);
      expect(claims.at_hash).toBe(halfHash(refreshed.access_token));

      // RFC 6749 §6: a narrower scope for the new access token; the refresh token keeps the original one.
      const narrower = await client.refreshTokenGrant(rp.config, refreshed.refresh_token!, { scope: 'openid orders.read' });
      expect(narrower.scope).toBe('openid orders.read');
      await expectActive(narrower.access_token, rp, 'openid orders.read');
      expect(await client.tokenIntrospection(resourceServer, narrower.access_token, { scope: 'orders.write' })).toEqual({ active: false });
      expectIdTokenClaims(narrower.claims(), rp, session);
      const widened = await client.refreshTokenGrant(rp.config, narrower.refresh_token!);
      expect(widened.scope).toBe(full);
      await expectActive(widened.access_token, rp, full);
      await expect(client.refreshTokenGrant(rp.config, widened.refresh_token!, { scope: 'openid admin' })).rejects.toMatchObject({
        error: 'invalid_scope',
        status: 400,
      });

      // A rotated refresh token presented again was copied: refused, and the whole family revoked.
      await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
      expect(await client.tokenIntrospection(resourceServer, widened.access_token)).toEqual({ active: false });
      await expect(client.refreshTokenGrant(rp.config, widened.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('come with offline or offline_access only', async () => {
      const rp = await relyingParty({ grant_types: ['authorization_code', 'refresh_token'] }, 'client_secret_basic');
      // Requested, but the user did not grant offline access.
      const online = await codeFlow(rp, 'openid offline_access orders.read', ['openid', 'orders.read']);
      expect(online.tokens.scope).toBe('openid orders.read');
      expect(online.tokens.refresh_token).toBeUndefined();
      expect(online.tokens.claims()?.sub).toBe('alice');
      // Hydra's older spelling works as well.
      const offline = await codeFlow(rp, 'openid offline', ['openid', 'offline']);
      expect(offline.tokens.refresh_token).toBeTypeOf('string');
      expect((await client.refreshTokenGrant(rp.config, offline.tokens.refresh_token!)).refresh_token).toBeTypeOf('string');
    });

    it('never go to a client without the refresh_token grant, offline access or not', async () => {
      const rp = await relyingParty({ grant_types: ['authorization_code'] }, 'client_secret_basic');
      const { tokens } = await codeFlow(rp, 'openid offline_access', ['openid', 'offline_access']);
      expect(tokens.scope).toBe('openid offline_access');
      expect(tokens.refresh_token).toBeUndefined();
      await expectActive(tokens.access_token, rp, 'openid offline_access');
    });
  });

  describe('revocation', () => {
    it.each(['client_secret_basic', 'none'] as const)(
      'tokenRevocation of the refresh token (%s) ends it and the access token issued with it',
      async (method) => {
        const rp = await relyingParty({ grant_types: ['authorization_code', 'refresh_token'] }, method);
        const { tokens } = await codeFlow(rp, 'openid offline_access', ['openid', 'offline_access']);
        await expectActive(tokens.access_token, rp, 'openid offline_access');

        await client.tokenRevocation(rp.config, tokens.refresh_token!);

        await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
        expect(await client.tokenIntrospection(resourceServer, tokens.access_token)).toEqual({ active: false });
        const error = await rejectionOf(client.fetchUserInfo(rp.config, tokens.access_token, 'alice'));
        expect(error).toBeInstanceOf(client.WWWAuthenticateChallengeError);
        expect(error).toMatchObject({ status: 401 });
        expect((error as client.WWWAuthenticateChallengeError).cause[0]).toMatchObject({ scheme: 'bearer', parameters: { error: 'invalid_token' } });
        // RFC 7009 §2.2: revoking again (an invalid token by now) is still a success.
        await client.tokenRevocation(rp.config, tokens.refresh_token!);
      },
    );
  });

  describe('implicit flow (openid-client implicitAuthentication)', () => {
    const implicitClient = () =>
      relyingParty({ grant_types: ['implicit'], response_types: ['id_token', 'id_token token'] }, 'none', client.useIdTokenResponseType);

    it('response_type id_token: the fragment holds an ID token the library validates, and nothing else', async () => {
      const rp = await implicitClient();
      const session = await login(rp, { scope: 'openid' }, acceptAs(['openid']), false);
      expect(session.callback.search).toBe('');
      const fragment = new URLSearchParams(session.callback.hash.slice(1));
      expect([...fragment.keys()].sort()).toEqual(['id_token', 'state']);

      const claims = expectIdTokenClaims(
        await client.implicitAuthentication(rp.config, session.callback, session.nonce, { expectedState: session.state }),
        rp,
        session,
      );
      expect(claims.nonce).toBe(session.nonce);
      expect(claims.at_hash).toBeUndefined();
      expect(claims.c_hash).toBeUndefined();

      // The library really checks: another nonce, or a payload changed under the signature, is refused.
      expectComparisonFailure(
        await rejectionOf(client.implicitAuthentication(rp.config, session.callback, client.randomNonce(), { expectedState: session.state })),
        'claim',
        'nonce',
      );
      const [header, payload, signature] = fragment.get('id_token')!.split('.');
      const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'mallory' })).toString('base64url');
      const tampered = new URL(session.callback);
      tampered.hash = new URLSearchParams({ id_token: `${header}.${forged}.${signature}`, state: session.state }).toString();
      const refused = await rejectionOf(client.implicitAuthentication(rp.config, tampered, session.nonce, { expectedState: session.state }));
      expect(refused).toBeInstanceOf(client.ClientError);
      expect(((refused as client.ClientError).cause as Error).message).toMatch(/signature verification failed/);
    });

    // openid-client documents implicitAuthentication for response_type=id_token only; given an "id_token token"
    // fragment it still validates the ID token (it reads nothing else), but not the access token beside it, so the
    // at_hash binding OpenID Connect Core §3.2.2.9 requires the client to check is compared by hand.
    it('response_type id_token token: an ID token with at_hash, and an access token for userinfo', async () => {
      const rp = await implicitClient();
      const session = await login(rp, { scope: 'openid orders.read', response_type: 'id_token token' }, acceptAs(['openid', 'orders.read']), false);
      const fragment = new URLSearchParams(session.callback.hash.slice(1));
      expect(fragment.get('code')).toBeNull();
      expect(fragment.get('refresh_token')).toBeNull();
      expect(fragment.get('token_type')).toBe('bearer');
      expect(Number(fragment.get('expires_in'))).toBeGreaterThan(0);
      expect(fragment.get('scope')).toBe('openid orders.read');
      const accessToken = fragment.get('access_token')!;

      const claims = expectIdTokenClaims(
        await client.implicitAuthentication(rp.config, session.callback, session.nonce, { expectedState: session.state }),
        rp,
        session,
      );
      expect(claims.nonce).toBe(session.nonce);
      expect(claims.at_hash).toBe(halfHash(accessToken));
      await expectActive(accessToken, rp, 'openid orders.read');
      expect(await client.fetchUserInfo(rp.config, accessToken, claims.sub)).toEqual({ sub: 'alice', ...ID_TOKEN_EXTRA });
    });
  });

  describe('hybrid flow (openid-client useCodeIdTokenResponseType)', () => {
    const hybridClient = () =>
      relyingParty(
        { grant_types: ['authorization_code', 'implicit', 'refresh_token'], response_types: ['code id_token', 'code id_token token'] },
        'client_secret_basic',
        client.useCodeIdTokenResponseType,
      );

    it('response_type code id_token: the library checks the fragment ID token (signature, nonce, c_hash) and exchanges the code', async () => {
      const rp = await hybridClient();
      const session = await login(rp, { scope: 'openid offline_access' }, acceptAs(['openid', 'offline_access']));
      expect(session.callback.search).toBe('');
      const fragment = new URLSearchParams(session.callback.hash.slice(1));
      expect(fragment.get('access_token')).toBeNull();
      const frontChannel = decodeJwt(fragment.get('id_token')!);
      expect(frontChannel.c_hash).toBe(halfHash(fragment.get('code')!));
      expect(frontChannel.at_hash).toBeUndefined();
      expect(frontChannel).toMatchObject({ sub: 'alice', nonce: session.nonce, ...ID_TOKEN_EXTRA });

      const tokens = await client.authorizationCodeGrant(rp.config, session.callback, {
        pkceCodeVerifier: session.verifier,
        expectedState: session.state,
        expectedNonce: session.nonce,
      });
      const claims = expectIdTokenClaims(tokens.claims(), rp, session);
      expect(claims.nonce).toBe(session.nonce);
      expect(claims.auth_time).toBe(frontChannel.auth_time);
      expect(claims.at_hash).toBe(halfHash(tokens.access_token));
      expect(tokens.refresh_token).toBeTypeOf('string');
      await expectActive(tokens.access_token, rp, 'openid offline_access');
      expect(await client.fetchUserInfo(rp.config, tokens.access_token, 'alice')).toEqual({ sub: 'alice', ...ID_TOKEN_EXTRA });
    });

    it('response_type code id_token token: c_hash checked by the library, at_hash by hand, both access tokens live', async () => {
      const rp = await hybridClient();
      const session = await login(rp, { scope: 'openid orders.read', response_type: 'code id_token token' }, acceptAs(['openid', 'orders.read']));
      const fragment = new URLSearchParams(session.callback.hash.slice(1));
      const frontAccessToken = fragment.get('access_token')!;
      expect(frontAccessToken).toBeTruthy();
      const frontChannel = decodeJwt(fragment.get('id_token')!);
      expect(frontChannel.c_hash).toBe(halfHash(fragment.get('code')!));
      // OpenID Connect Core §3.3.2.11: required beside an access token; openid-client does not check it.
      expect(frontChannel.at_hash).toBe(halfHash(frontAccessToken));

      const tokens = await client.authorizationCodeGrant(rp.config, session.callback, {
        pkceCodeVerifier: session.verifier,
        expectedState: session.state,
        expectedNonce: session.nonce,
      });
      const claims = expectIdTokenClaims(tokens.claims(), rp, session);
      expect(claims.at_hash).toBe(halfHash(tokens.access_token));
      expect(tokens.access_token).not.toBe(frontAccessToken);
      expect(tokens.refresh_token).toBeUndefined();
      await expectActive(frontAccessToken, rp, 'openid orders.read');
      await expectActive(tokens.access_token, rp, 'openid orders.read');

      // A hybrid code is single-use like any other: a second exchange is refused.
      await expect(
        client.authorizationCodeGrant(rp.config, session.callback, {
          pkceCodeVerifier: session.verifier,
          expectedState: session.state,
          expectedNonce: session.nonce,
        }),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
    });
  });
});
