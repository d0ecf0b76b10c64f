import { RESPONSE_TYPES } from '../../contract/client.js';
import { CONTROL_CHARACTER } from '../../contract/text.js';
import type { StoredClient } from '../client/store.js';
import { isS256Challenge } from '../oauth2/pkce.js';
import { scopeCovers, splitScope } from '../oauth2/scope.js';

/** The parameters of an authorization request, from the query (GET) or the form (POST). */
export type AuthorizationParameters = Record<string, string>;

// Hydra v0.11 asked for at least 8 characters of state, as entropy against CSRF on the client's redirect URI.
export const MIN_STATE_LENGTH = 8;
// Every request stores its parameters until the consent expires: bounded, so nobody can fill the database with them.
export const MAX_STORED_PARAMETERS_LENGTH = 8192;
// OpenID Connect Core §3.1.2.1; login, consent and select_account are met by the consent app, which always runs.
const PROMPTS = ['none', 'login', 'consent', 'select_account'];
// The consent round trip adds these to the original request.
export const CONSENT_PARAMETERS = ['consent', 'consent_csrf'] as const;

export interface ValidAuthorizationRequest {
  client: StoredClient;
  /** The parameters without the consent round trip's own, serialized: what the consent request keeps and compares. */
  query: string;
  redirectUri: string;
  redirectUriGiven: boolean;
  /** In canonical order ("code id_token token"), as registered on clients. */
  responseType: string;
  responseMode: 'query' | 'fragment';
  scopes: string[];
  state: string;
  nonce: string;
  codeChallenge: string;
  /** OpenID Connect's max_age: how long ago, at most, the user may have signed in. */
  maxAgeSeconds: number | undefined;
}

/**
 * Where an error of the authorization endpoint goes. Once the client and the redirect URI are known good, RFC 6749
 * §4.1.2.1 sends it back to the client; before that it must not (an unregistered URI would make the server an open
 * redirector), so it is shown to the user.
 */
export class AuthorizationError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly redirect?: { uri: string; mode: 'query' | 'fragment'; state: string },
  ) {
    super(description);
  }
}

/** What the authorization endpoint issues: every combination OpenID Connect registers. */
export const SUPPORTED_RESPONSE_TYPES: readonly string[] = RESPONSE_TYPES;
/** The grant types the authorization endpoint itself completes (RFC 6749 §4.2), for discovery beside the token endpoint's. */
export const AUTHORIZATION_ENDPOINT_GRANTS: readonly string[] = ['implicit'];

/** A response type in canonical order, or undefined when it is not one OpenID Connect registers. */
export function canonicalResponseType(value: string): string | undefined {
  const parts = value.split(' ').filter(Boolean);
  if (new Set(parts).size !== parts.length) return undefined;
  const canonical = ['code', 'id_token', 'token'].filter((part) => parts.includes(part));
  if (canonical.length !== parts.length) return undefined;
  // RESPONSE_TYPES lists "code token" and "id_token token": map the canonical sort onto the registered spelling.
  return SUPPORTED_RESPONSE_TYPES.find((registered) => sameParts(registered, canonical));
}

const sameParts = (registered: string, parts: string[]) => {
  const own = registered.split(' ');
  return own.length === parts.length && parts.every((part) => own.includes(part));
};

/**
 * Checks an authorization request against its client. The client and redirect URI come first: an error about either
 * is shown to the user; every error after that goes to the redirect URI with the request's state.
 */
export function validateAuthorizationRequest(parameters: AuthorizationParameters, client: StoredClient | undefined): ValidAuthorizationRequest {
  if (!parameters.client_id) throw new AuthorizationError('invalid_request', 'The client_id parameter is missing');
  if (!client) throw new AuthorizationError('invalid_client', `No client with id "${parameters.client_id}" is registered`);
  const { redirectUri, redirectUriGiven } = registeredRedirectUri(parameters.redirect_uri, client);

  const responseType = canonicalResponseType(parameters.response_type ?? '');
  const fragmentByDefault = responseType !== undefined && responseType !== 'code';
  const state = parameters.state ?? '';
  const modeGiven = parameters.response_mode;
  const responseMode = modeGiven === 'query' || modeGiven === 'fragment' ? modeGiven : fragmentByDefault ? 'fragment' : 'query';
  const fail = (error: string, description: string): never => {
    throw new AuthorizationError(error, description, { uri: redirectUri, mode: responseMode, state });
  };

  // Before anything is stored: PostgreSQL refuses a NUL byte in text, and one in a grouped insert would fail every
  // request of its group. RFC 6749 allows none of these characters in its parameters.
  const controlled = Object.entries(parameters).find(([name, value]) => CONTROL_CHARACTER.test(name) || CONTROL_CHARACTER.test(value));
  if (controlled) {
    const [name] = controlled;
    fail(
      'invalid_request',
      CONTROL_CHARACTER.test(name) ? 'A parameter name contains a control character' : `The ${name} parameter contains a control character`,
    );
  }
  if (modeGiven !== undefined && modeGiven !== 'query' && modeGiven !== 'fragment')
    fail('invalid_request', `The response_mode "${modeGiven}" is not supported; use query or fragment`);
  // Tokens in a query end up in logs and Referer headers (OAuth 2.0 Multiple Response Type Encoding Practices §5).
  if (fragmentByDefault && responseMode === 'query')
    fail('invalid_request', `The response_type "${responseType}" returns tokens, which go in the fragment: response_mode=query is not allowed`);
  if (!parameters.response_type) fail('invalid_request', 'The response_type parameter is missing');
  if (!responseType)
    fail('unsupported_response_type', `The response_type "${parameters.response_type}" is not supported; use one of: ${SUPPORTED_RESPONSE_TYPES.join(', ')}`);
  const parts = responseType!.split(' ');
  if (!client.response_types.includes(responseType!)) fail('unauthorized_client', `The client is not allowed the response_type "${responseType}"`);
  if (parts.includes('code') && !client.grant_types.includes('authorization_code'))
    fail('unauthorized_client', 'The client is not allowed the authorization_code grant');
  if ((parts.includes('token') || parts.includes('id_token')) && !client.grant_types.includes('implicit'))
    fail('unauthorized_client', 'The client is not allowed the implicit grant');

  if (state.length < MIN_STATE_LENGTH)
    fail('invalid_state', `The state parameter must be at least ${MIN_STATE_LENGTH} characters, to protect the client against cross-site request forgery`);

  const scopes = [...new Set(splitScope(parameters.scope))];
  const refused = scopes.filter((scope) => !scopeCovers(splitScope(client.scope), scope));
  if (refused.length) fail('invalid_scope', `The client is not allowed to request the scope(s): ${refused.join(' ')}`);

  const query = originalQuery(parameters);
  if (query.length > MAX_STORED_PARAMETERS_LENGTH) {
    fail('invalid_request', `The authorization request's parameters are longer than ${MAX_STORED_PARAMETERS_LENGTH} characters`);
  }
  const nonce = parameters.nonce ?? '';
  if (parts.includes('id_token')) {
    if (!scopes.includes('openid')) fail('invalid_scope', 'An id_token is only issued for the openid scope');
    // OpenID Connect Core §3.2.2.1: required where an ID token comes straight from this endpoint.
    if (!nonce) fail('invalid_request', 'The nonce parameter is required when an id_token is returned from the authorization endpoint');
  }

  const prompts = splitScope(parameters.prompt);
  const unknownPrompts = prompts.filter((prompt) => !PROMPTS.includes(prompt));
  if (unknownPrompts.length) fail('invalid_request', `The prompt value(s) ${unknownPrompts.join(' ')} are not supported; use ${PROMPTS.join(', ')}`);
  if (prompts.includes('none') && prompts.length > 1) fail('invalid_request', 'prompt=none cannot be combined with other prompt values');
  // OpenID Connect Core §3.1.2.1: no page may be shown. This server keeps no sign-in session of its own: every
  // authorization goes through the consent app, so it cannot answer without one.
  if (prompts.includes('none'))
    fail(
      'login_required',
      'prompt=none: this server signs users in only through its consent app, which must not be shown; sign in interactively, or use a refresh token',
    );
  const maxAge = parameters.max_age;
  if (maxAge !== undefined && !/^\d{1,10}$/.test(maxAge)) fail('invalid_request', 'max_age must be a whole number of seconds');

  const codeChallenge = parameters.code_challenge ?? '';
  const method = parameters.code_challenge_method;
  if (codeChallenge || method !== undefined) {
    if (!parts.includes('code')) fail('invalid_request', 'code_challenge belongs to requests for a code');
    if ((method ?? 'plain') !== 'S256') fail('invalid_request', 'The code_challenge_method must be S256 ("plain" is not accepted)');
    if (!isS256Challenge(codeChallenge)) fail('invalid_request', 'The code_challenge must be the 43-character base64url SHA-256 of the code verifier');
  } else if (client.public && parts.includes('code')) {
    fail('invalid_request', 'A public client must use PKCE: send code_challenge with code_challenge_method=S256');
  }

  const maxAgeSeconds = maxAge === undefined ? undefined : Number(maxAge);
  return { client, query, redirectUri, redirectUriGiven, responseType: responseType!, responseMode, scopes, state, nonce, codeChallenge, maxAgeSeconds };
}

/** RFC 6749 §3.1.2.3: the given redirect URI must equal a registered one exactly; without one, the only one. */
function registeredRedirectUri(given: string | undefined, client: StoredClient): { redirectUri: string; redirectUriGiven: boolean } {
  if (given === undefined) {
    if (client.redirect_uris.length === 1) return { redirectUri: client.redirect_uris[0]!, redirectUriGiven: false };
    throw new AuthorizationError(
      'invalid_request',
      client.redirect_uris.length
        ? 'The redirect_uri parameter is required: the client has several redirect URIs'
        : 'The client has no redirect URI registered',
    );
  }
  if (!client.redirect_uris.includes(given))
    throw new AuthorizationError('invalid_request', "The redirect_uri is not one of the client's registered redirect URIs");
  return { redirectUri: given, redirectUriGiven: true };
}

/** The client's redirect URI with the response parameters added, in its query or its fragment. */
export function redirectWith(uri: string, mode: 'query' | 'fragment', parameters: Record<string, string | undefined>): string {
  const values = new URLSearchParams();
  for (const [key, value] of Object.entries(parameters)) if (value !== undefined && value !== '') values.set(key, value);
  if (mode === 'fragment') return `${uri}#${values.toString()}`;
  // The registered URI may carry a query of its own (RFC 6749 §3.1.2), which is kept.
  return `${uri}${uri.includes('?') ? '&' : '?'}${values.toString()}`;
}

/** The request's parameters without the consent round trip's own, serialized: what the consent request keeps. */
export function originalQuery(parameters: AuthorizationParameters): string {
  const values = new URLSearchParams();
  for (const [key, value] of Object.entries(parameters)) if (!(CONSENT_PARAMETERS as readonly string[]).includes(key)) values.append(key, value);
  return values.toString();
}
