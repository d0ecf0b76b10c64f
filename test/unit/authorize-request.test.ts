// The authorization endpoint's pure checks: which response types it knows, which errors are shown to the user (no
// redirect: the client or redirect URI is not known good) and which go back to the client, and how the response is
// written onto the redirect URI.
import { describe, expect, it } from 'vitest';
import { RESPONSE_TYPES } from '../../src/contract/client.js';
import {
  AuthorizationError,
  canonicalResponseType,
  originalQuery,
  redirectWith,
  validateAuthorizationRequest,
  type AuthorizationParameters,
  type ValidAuthorizationRequest,
} from '../../src/server/authorize/request.js';
import type { StoredClient } from '../../src/server/client/store.js';
import { aClient } from '../support/clients.js';

const CALLBACK = 'https://app.example/callback';
const OTHER_CALLBACK = 'https://app.example/other';
const STATE = 'state-0123456789';
const NONCE = 'nonce-0123456789';
// RFC 7636 Appendix B.
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/** A client as the store returns it: everything allowed unless overridden. */
function storedClient(overrides: Partial<StoredClient> = {}): StoredClient {
  return {
    ...aClient({
      id: 'web-app',
      client_name: 'Web app',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token', 'implicit'],
      response_types: [...RESPONSE_TYPES],
      scope: 'openid offline orders.*',
    }),
    secretHash: '$scrypt$not-a-real-hash',
    ...overrides,
  };
}

/** A valid code request of `client`, with `changes` applied (undefined removes a parameter). */
function parameters(changes: Record<string, string | undefined> = {}): AuthorizationParameters {
  const base: Record<string, string | undefined> = {
    client_id: 'web-app',
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid orders.read',
    state: STATE,
    ...changes,
  };
  return Object.fromEntries(Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The AuthorizationError a request fails with (failing the test when it is valid); null stands for no client found. */
function errorOf(request: AuthorizationParameters, client: StoredClient | null = storedClient()): AuthorizationError {
  let caught: unknown;
  try {
    validateAuthorizationRequest(request, client ?? undefined);
  } catch (error) {
    caught = error;
  }
  expect(caught, `an AuthorizationError for ${JSON.stringify(request)}`).toBeInstanceOf(AuthorizationError);
  return caught as AuthorizationError;
}

/** Asserts an error shown to the user: it must not redirect anywhere. */
function expectPage(request: AuthorizationParameters, error: string, description: RegExp, client: StoredClient | null = storedClient()) {
  const failure = errorOf(request, client);
  expect(failure.error).toBe(error);
  expect(failure.description).toMatch(description);
  expect(failure.redirect).toBeUndefined();
}

/** Asserts an error sent back to the client's redirect URI. */
function expectRedirect(
  request: AuthorizationParameters,
  expected: { error: string; description: RegExp; mode?: 'query' | 'fragment'; uri?: string; state?: string },
  client: StoredClient = storedClient(),
) {
  const failure = errorOf(request, client);
  expect(failure.error).toBe(expected.error);
  expect(failure.description).toMatch(expected.description);
  expect(failure.redirect).toBeDefined();
  expect(failure.redirect!.uri).toBe(expected.uri ?? CALLBACK);
  expect(failure.redirect!.state).toBe(expected.state ?? request.state ?? '');
  if (expected.mode) expect(failure.redirect!.mode).toBe(expected.mode);
}

const valid = (request: AuthorizationParameters, client = storedClient()): ValidAuthorizationRequest => validateAuthorizationRequest(request, client);

/** Every ordering of a list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('canonicalResponseType', () => {
  it('registers exactly the seven OpenID Connect combinations', () => {
    expect([...RESPONSE_TYPES].sort()).toEqual(['code', 'code id_token', 'code id_token token', 'code token', 'id_token', 'id_token token', 'token']);
  });

  it.each(RESPONSE_TYPES.map((registered) => [registered]))('maps every order of "%s" to its registered spelling', (registered) => {
    const orders = permutations(registered.split(' '));
    expect(orders.length).toBe([1, 1, 2, 6][registered.split(' ').length]);
    for (const order of orders) expect(canonicalResponseType(order.join(' ')), order.join(' ')).toBe(registered);
  });

  it('spells the mixed combinations as registered, not in the sort order', () => {
    expect(canonicalResponseType('token code')).toBe('code token');
    expect(canonicalResponseType('token id_token')).toBe('id_token token');
    expect(canonicalResponseType('token id_token code')).toBe('code id_token token');
  });

  it.each([
    ['code code'],
    ['code token code'],
    ['token token'],
    ['id_token id_token token'],
    ['code device'],
    ['none'],
    ['code none'],
    ['Code'],
    ['CODE TOKEN'],
    ['id-token'],
    ['code,token'],
    ['code+token'],
    [''],
    [' '],
  ])('refuses %j', (value) => {
    expect(canonicalResponseType(value)).toBeUndefined();
  });
});

describe('validateAuthorizationRequest: what is shown to the user', () => {
  it('a missing client_id', () => {
    expectPage(parameters({ client_id: undefined }), 'invalid_request', /client_id/, null);
    expectPage(parameters({ client_id: '' }), 'invalid_request', /client_id/, null);
  });

  it('an unknown client', () => {
    expectPage(parameters({ client_id: 'nobody' }), 'invalid_client', /"nobody"/, null);
  });

  it.each([
    ['an unregistered URI', 'https://evil.example/callback'],
    ['a trailing slash', `${CALLBACK}/`],
    ['a different case in the path', 'https://app.example/Callback'],
    ['a different case in the host', 'https://APP.example/callback'],
    ['an added query', `${CALLBACK}?next=/admin`],
    ['an added fragment', `${CALLBACK}#x`],
    ['another scheme', 'http://app.example/callback'],
    ['an explicit default port', 'https://app.example:443/callback'],
    ['a prefix of the registered URI', 'https://app.example/call'],
    ['an empty redirect_uri', ''],
  ])('a redirect_uri that is not exactly a registered one: %s', (_name, uri) => {
    expectPage(parameters({ redirect_uri: uri }), 'invalid_request', /registered redirect URIs/);
  });

  it('an omitted redirect_uri when the client has several, or none', () => {
    const several = storedClient({ redirect_uris: [CALLBACK, OTHER_CALLBACK] });
    expectPage(parameters({ redirect_uri: undefined }), 'invalid_request', /redirect_uri parameter is required/, several);
    expectPage(parameters({ redirect_uri: undefined }), 'invalid_request', /no redirect URI registered/, storedClient({ redirect_uris: [] }));
  });

  it('every later error too, while the redirect URI is not known good', () => {
    // Bad response type, short state and foreign scope: the redirect URI is checked first, and shown.
    const request = parameters({ redirect_uri: 'https://evil.example/cb', response_type: 'bogus', state: 'x', scope: 'admin' });
    expectPage(request, 'invalid_request', /registered redirect URIs/);
  });
});

describe('validateAuthorizationRequest: the redirect URI', () => {
  it('is taken as given when it equals a registered one, among several', () => {
    const client = storedClient({ redirect_uris: [CALLBACK, OTHER_CALLBACK] });
    const request = valid(parameters({ redirect_uri: OTHER_CALLBACK }), client);
    expect(request.redirectUri).toBe(OTHER_CALLBACK);
    expect(request.redirectUriGiven).toBe(true);
  });

  it('defaults to the only registered one when omitted, remembering that it was not given', () => {
    const request = valid(parameters({ redirect_uri: undefined }));
    expect(request.redirectUri).toBe(CALLBACK);
    expect(request.redirectUriGiven).toBe(false);
  });

  it('is where errors go once known good, also when it was omitted', () => {
    const client = storedClient({ redirect_uris: ['https://app.example/only?tenant=a'] });
    expectRedirect(
      parameters({ redirect_uri: undefined, state: 'short' }),
      { error: 'invalid_state', description: /at least 8/, uri: 'https://app.example/only?tenant=a' },
      client,
    );
  });
});

describe('validateAuthorizationRequest: errors sent back to the client', () => {
  it('a missing response_type, in the query, with the state', () => {
    expectRedirect(parameters({ response_type: undefined }), { error: 'invalid_request', description: /response_type parameter is missing/, mode: 'query' });
  });

  it.each([['bogus'], ['code code'], ['none'], ['code device']])('an unsupported response_type %j, in the query', (responseType) => {
    expectRedirect(parameters({ response_type: responseType }), { error: 'unsupported_response_type', description: /not supported/, mode: 'query' });
  });

  it('a response type the client is not registered for', () => {
    const codeOnly = storedClient({ response_types: ['code'] });
    expectRedirect(parameters({ response_type: 'token' }), { error: 'unauthorized_client', description: /response_type "token"/, mode: 'fragment' }, codeOnly);
    const tokenOnly = storedClient({ response_types: ['token'] });
    expectRedirect(parameters({ response_type: 'code' }), { error: 'unauthorized_client', description: /response_type "code"/, mode: 'query' }, tokenOnly);
    // Registered as "code token", asked in the other order: the same response type.
    const hybrid = storedClient({ response_types: ['code token'] });
    expect(valid(parameters({ response_type: 'token code' }), hybrid).responseType).toBe('code token');
  });

  it('a response type whose grant the client is not allowed', () => {
    const noCodeGrant = storedClient({ grant_types: ['implicit'] });
    expectRedirect(parameters({ response_type: 'code' }), { error: 'unauthorized_client', description: /authorization_code grant/ }, noCodeGrant);
    const noImplicit = storedClient({ grant_types: ['authorization_code'] });
    expectRedirect(
      parameters({ response_type: 'code id_token', nonce: NONCE }),
      { error: 'unauthorized_client', description: /implicit grant/, mode: 'fragment' },
      noImplicit,
    );
    expectRedirect(parameters({ response_type: 'token' }), { error: 'unauthorized_client', description: /implicit grant/, mode: 'fragment' }, noImplicit);
  });

  it.each<[string, string | undefined]>([
    ['missing', undefined],
    ['empty', ''],
    ['7 characters', 'abcdefg'],
  ])('a state that is %s', (_name, state) => {
    expectRedirect(parameters({ state }), { error: 'invalid_state', description: /at least 8 characters/, mode: 'query', state: state ?? '' });
  });

  it('accepts a state of exactly 8 characters, and echoes it', () => {
    expect(valid(parameters({ state: 'abcdefgh' })).state).toBe('abcdefgh');
  });

  it('a scope the client is not allowed, naming only the refused ones', () => {
    const failure = errorOf(parameters({ scope: 'openid admin orders.read payments' }));
    expect(failure.error).toBe('invalid_scope');
    expect(failure.description).toMatch(/: admin payments$/);
    expect(failure.redirect).toEqual({ uri: CALLBACK, mode: 'query', state: STATE });
    // orders.* covers orders.read and deeper, but not orders itself.
    expectRedirect(parameters({ scope: 'orders' }), { error: 'invalid_scope', description: /orders/ });
  });

  it('grants scopes covered by wildcards, without duplicates, and no scope at all', () => {
    expect(valid(parameters({ scope: 'orders.read orders.read openid orders.read.items' })).scopes).toEqual(['orders.read', 'openid', 'orders.read.items']);
    expect(valid(parameters({ scope: undefined })).scopes).toEqual([]);
  });

  it('an id_token without the openid scope, or without a nonce', () => {
    for (const responseType of ['id_token', 'id_token token', 'code id_token', 'code id_token token']) {
      expectRedirect(parameters({ response_type: responseType, scope: 'orders.read', nonce: NONCE }), {
        error: 'invalid_scope',
        description: /openid/,
        mode: 'fragment',
      });
      expectRedirect(parameters({ response_type: responseType, nonce: undefined }), { error: 'invalid_request', description: /nonce/, mode: 'fragment' });
      expectRedirect(parameters({ response_type: responseType, nonce: '' }), { error: 'invalid_request', description: /nonce/, mode: 'fragment' });
      expect(valid(parameters({ response_type: responseType, nonce: NONCE })).nonce).toBe(NONCE);
    }
  });

  it('needs no nonce for a code or a token alone, even with openid', () => {
    expect(valid(parameters({ response_type: 'code' })).nonce).toBe('');
    expect(valid(parameters({ response_type: 'token' })).nonce).toBe('');
    expect(valid(parameters({ response_type: 'code token' })).nonce).toBe('');
  });
});

describe('validateAuthorizationRequest: response_mode', () => {
  it('defaults to query for a code and to fragment for anything returning tokens', () => {
    const nonce = { nonce: NONCE };
    expect(valid(parameters({ response_type: 'code' })).responseMode).toBe('query');
    for (const responseType of ['token', 'id_token', 'code id_token', 'code token', 'id_token token', 'code id_token token']) {
      expect(valid(parameters({ response_type: responseType, ...nonce })).responseMode, responseType).toBe('fragment');
    }
  });

  it('takes response_mode=fragment or query for a code, and fragment for tokens', () => {
    expect(valid(parameters({ response_mode: 'fragment' })).responseMode).toBe('fragment');
    expect(valid(parameters({ response_mode: 'query' })).responseMode).toBe('query');
    expect(valid(parameters({ response_type: 'token', response_mode: 'fragment' })).responseMode).toBe('fragment');
  });

  it('refuses query for anything returning tokens', () => {
    for (const responseType of ['token', 'id_token', 'code id_token', 'code token', 'id_token token', 'code id_token token']) {
      expectRedirect(parameters({ response_type: responseType, nonce: NONCE, response_mode: 'query' }), {
        error: 'invalid_request',
        description: /response_mode=query is not allowed/,
      });
    }
  });

  it('refuses other modes, answering in the default mode of the response type', () => {
    for (const mode of ['form_post', 'web_message', '', 'QUERY']) {
      expectRedirect(parameters({ response_mode: mode }), { error: 'invalid_request', description: /response_mode/, mode: 'query' });
      expectRedirect(parameters({ response_type: 'token', response_mode: mode }), { error: 'invalid_request', description: /response_mode/, mode: 'fragment' });
    }
  });

  it('sends errors of a fragment request in the fragment', () => {
    expectRedirect(parameters({ response_mode: 'fragment', state: 'short' }), {
      error: 'invalid_state',
      description: /state/,
      mode: 'fragment',
      state: 'short',
    });
  });
});

describe('validateAuthorizationRequest: PKCE', () => {
  it('takes an S256 challenge for a code', () => {
    const request = valid(parameters({ code_challenge: CHALLENGE, code_challenge_method: 'S256' }));
    expect(request.codeChallenge).toBe(CHALLENGE);
  });

  it('refuses plain, a challenge without a method (which means plain), and unknown methods', () => {
    for (const method of ['plain', undefined, 's256', 'S512', '']) {
      expectRedirect(parameters({ code_challenge: CHALLENGE, code_challenge_method: method }), {
        error: 'invalid_request',
        description: /S256/,
        mode: 'query',
      });
    }
    // A plain challenge is the verifier itself, which may be 128 characters.
    expectRedirect(parameters({ code_challenge: 'a'.repeat(64), code_challenge_method: 'plain' }), { error: 'invalid_request', description: /plain/ });
  });

  it.each([
    ['42 characters', CHALLENGE.slice(0, 42)],
    ['44 characters', `${CHALLENGE}A`],
    ['base64 padding', `${CHALLENGE.slice(0, 42)}=`],
    ['standard base64 characters', `+${CHALLENGE.slice(1, 42)}/`],
    ['a space', `${CHALLENGE.slice(0, 21)} ${CHALLENGE.slice(22)}`],
    ['a dot (a verifier character, not a challenge one)', `.${CHALLENGE.slice(1)}`],
  ])('refuses a malformed S256 challenge: %s', (_name, challenge) => {
    expectRedirect(parameters({ code_challenge: challenge, code_challenge_method: 'S256' }), { error: 'invalid_request', description: /43-character/ });
  });

  it('refuses a method without a challenge', () => {
    expectRedirect(parameters({ code_challenge_method: 'S256' }), { error: 'invalid_request', description: /43-character/ });
  });

  it('refuses a challenge in a request for no code', () => {
    expectRedirect(parameters({ response_type: 'id_token token', nonce: NONCE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }), {
      error: 'invalid_request',
      description: /code_challenge belongs to requests for a code/,
      mode: 'fragment',
    });
  });

  it('requires a challenge of a public client asking for a code, in any combination', () => {
    const publicClient = storedClient({ public: true, secretHash: null });
    for (const responseType of ['code', 'code id_token', 'code token', 'code id_token token']) {
      expectRedirect(
        parameters({ response_type: responseType, nonce: NONCE }),
        { error: 'invalid_request', description: /public client must use PKCE/ },
        publicClient,
      );
      expect(
        valid(parameters({ response_type: responseType, nonce: NONCE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }), publicClient).codeChallenge,
      ).toBe(CHALLENGE);
    }
  });

  it('lets a public client ask for tokens alone without a challenge, and a confidential client a code', () => {
    const publicClient = storedClient({ public: true, secretHash: null });
    const implicit = valid(parameters({ response_type: 'id_token token', nonce: NONCE }), publicClient);
    expect(implicit).toMatchObject({ responseType: 'id_token token', responseMode: 'fragment', codeChallenge: '' });
    expect(valid(parameters({ response_type: 'token' }), publicClient).codeChallenge).toBe('');
    expect(valid(parameters()).codeChallenge).toBe('');
  });
});

describe('validateAuthorizationRequest: a valid request', () => {
  it('carries everything the later steps need', () => {
    const client = storedClient();
    const input = parameters({
      response_type: 'token id_token code',
      nonce: NONCE,
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      scope: 'openid offline',
    });
    const request = validateAuthorizationRequest(input, client);
    expect(request).toEqual({
      client,
      query: originalQuery(input),
      redirectUri: CALLBACK,
      redirectUriGiven: true,
      responseType: 'code id_token token',
      responseMode: 'fragment',
      scopes: ['openid', 'offline'],
      state: STATE,
      nonce: NONCE,
      codeChallenge: CHALLENGE,
    });
  });
});

describe('redirectWith', () => {
  it('adds a query', () => {
    expect(redirectWith(CALLBACK, 'query', { code: 'abc', state: STATE })).toBe(`${CALLBACK}?code=abc&state=${STATE}`);
  });

  it('appends to a query the registered URI already has, with &', () => {
    expect(redirectWith('https://app.example/cb?tenant=a&x=1', 'query', { code: 'abc', state: STATE })).toBe(
      `https://app.example/cb?tenant=a&x=1&code=abc&state=${STATE}`,
    );
  });

  it('writes a fragment, after a registered query', () => {
    expect(redirectWith(CALLBACK, 'fragment', { access_token: 't', token_type: 'bearer', state: STATE })).toBe(
      `${CALLBACK}#access_token=t&token_type=bearer&state=${STATE}`,
    );
    expect(redirectWith('https://app.example/cb?tenant=a', 'fragment', { code: 'abc' })).toBe('https://app.example/cb?tenant=a#code=abc');
  });

  it('leaves out undefined and empty values, and encodes the others', () => {
    const uri = redirectWith(CALLBACK, 'query', { error: 'invalid_state', error_description: 'a & b = "c"?', state: '', nonce: undefined });
    expect(uri).toBe(`${CALLBACK}?error=invalid_state&error_description=a+%26+b+%3D+%22c%22%3F`);
    expect(new URL(uri).searchParams.get('error_description')).toBe('a & b = "c"?');
    const fragment = redirectWith(CALLBACK, 'fragment', { state: 'x#y&z' });
    expect(new URLSearchParams(new URL(fragment).hash.slice(1)).get('state')).toBe('x#y&z');
    expect(new URL(fragment).hash).toBe('#state=x%23y%26z');
  });
});

describe('originalQuery', () => {
  it('drops consent and consent_csrf and keeps every other parameter in order', () => {
    const query = originalQuery({
      client_id: 'web-app',
      consent: '0b6f1a4e-1111-4222-8333-944444444444',
      response_type: 'code token',
      consent_csrf: 'csrf-value',
      redirect_uri: CALLBACK,
      state: 'a&b=c',
    });
    expect(query).toBe(`client_id=web-app&response_type=code+token&redirect_uri=${encodeURIComponent(CALLBACK)}&state=a%26b%3Dc`);
    expect([...new URLSearchParams(query).keys()]).toEqual(['client_id', 'response_type', 'redirect_uri', 'state']);
  });

  it('is the same before and after the consent round trip', () => {
    const first = parameters({ nonce: NONCE });
    expect(originalQuery({ ...first, consent: 'id', consent_csrf: 'csrf' })).toBe(originalQuery(first));
    expect(originalQuery({ ...first, consent_id: 'x' })).not.toBe(originalQuery(first));
  });
});
