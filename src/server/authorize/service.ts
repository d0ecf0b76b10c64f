import type { ClientService } from '../client/service.js';
import type { ConsentService, UnusableReason } from '../consent/service.js';
import type { ConsentRecord } from '../consent/store.js';
import type { Authorization } from '../oauth2/grant-store.js';
import type { TokenIssuer } from '../oauth2/issuer.js';
import { addressKey, type TokenBuckets } from '../token-buckets.js';
import { AuthorizationError, redirectWith, validateAuthorizationRequest, type AuthorizationParameters, type ValidAuthorizationRequest } from './request.js';

/** Where the browser goes next, and the consent cookies to set (a value) or clear (undefined). */
export interface AuthorizationOutcome {
  location: string;
  cookies: { name: string; value: string | undefined; maxAgeSeconds: number }[];
}

/**
 * Consent cookies a browser keeps at most: each unfinished sign-in leaves one until its consent request expires, and
 * a page that starts sign-ins by the hundred would otherwise grow the browser's Cookie header for this endpoint past
 * what the server reads. The oldest go first (browsers send cookies of one path oldest first).
 */
export const MAX_CONSENT_COOKIES = 20;

/** Consent requests one source address may start: a burst, then a rate. */
export interface ConsentRequestLimit {
  buckets: TokenBuckets;
  burst: number;
}

const UNUSABLE: Record<UnusableReason | 'csrf', string> = {
  csrf: 'The consent could not be verified: this browser did not start this authorization request (its consent cookie is missing or does not match)',
  unknown: 'The consent request is unknown',
  pending: 'The consent request has not been accepted or rejected yet',
  used: 'The consent request was already used',
  expired: 'The consent request expired; start again',
  tampered: 'The authorization request differs from the one the consent was given for',
};

/**
 * GET|POST /oauth2/auth. The first visit stores a consent request and sends the browser to the consent app; the
 * consent app sends it back with `consent` and `consent_csrf`, and this second visit carries out the decision: a
 * code and/or tokens for an acceptance, `rejected_consent_request` for a rejection.
 */
export class AuthorizeService {
  constructor(
    private readonly clients: ClientService,
    private readonly consent: ConsentService,
    private readonly issuer: TokenIssuer,
    private readonly settings: { consentUrl: string },
    private readonly limit?: ConsentRequestLimit,
  ) {}

  /** `cookies` in the order the browser sent them; `address` the caller's, for the limit on new consent requests. */
  async authorize(parameters: AuthorizationParameters, cookies: Map<string, string>, address: string): Promise<AuthorizationOutcome> {
    const client = parameters.client_id ? await this.clients.findById(parameters.client_id) : undefined;
    const request = validateAuthorizationRequest(parameters, client);
    return parameters.consent === undefined ? this.askForConsent(request, cookies, address) : this.carryOut(request, parameters, cookies);
  }

  private async askForConsent(request: ValidAuthorizationRequest, cookies: Map<string, string>, address: string): Promise<AuthorizationOutcome> {
    const refusal = this.limit?.buckets.take(addressKey(address), this.limit.burst);
    if (refusal) {
      throw new AuthorizationError(
        'temporarily_unavailable',
        `Too many authorization requests from this address; try again in ${refusal.retryAfterSeconds} s`,
        { uri: request.redirectUri, mode: request.responseMode, state: request.state },
      );
    }
    const { record, csrf } = await this.consent.create({
      clientId: request.client.id,
      query: request.query,
      responseType: request.responseType,
      redirectUri: request.redirectUri,
      redirectUriGiven: request.redirectUriGiven,
      requestedScopes: request.scopes,
      state: request.state,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      skip: request.client.skip_consent,
    });
    // Only the id goes to the consent app: nothing the requester wrote can change where the browser is sent.
    const consentUrl = new URL(this.settings.consentUrl);
    consentUrl.searchParams.set('consent', record.id);
    const pending = [...cookies.keys()].filter((name) => this.consent.isCookieName(name));
    const oldest = pending.slice(0, Math.max(0, pending.length - (MAX_CONSENT_COOKIES - 1)));
    return {
      location: consentUrl.toString(),
      cookies: [
        ...oldest.map((name) => ({ name, value: undefined, maxAgeSeconds: 0 })),
        { name: this.consent.cookieNameOf(record.id), value: csrf, maxAgeSeconds: Math.ceil(this.consent.lifespanMs / 1000) },
      ],
    };
  }

  private async carryOut(request: ValidAuthorizationRequest, parameters: AuthorizationParameters, cookies: Map<string, string>): Promise<AuthorizationOutcome> {
    const id = parameters.consent!;
    const cookieName = this.consent.cookieNameOf(id);
    const fail = (error: string, description: string): never => {
      throw new AuthorizationError(error, description, { uri: request.redirectUri, mode: request.responseMode, state: request.state });
    };
    const consumed = await this.consent.consume(id, request.query, { fromQuery: parameters.consent_csrf ?? '', fromCookie: cookies.get(cookieName) });
    if (typeof consumed === 'string') return fail('invalid_request', UNUSABLE[consumed]);
    // The query names the client, so an unchanged one cannot belong to another.
    if (consumed.clientId !== request.client.id) return fail('invalid_request', UNUSABLE.tampered);
    const clearCookie = { name: cookieName, value: undefined, maxAgeSeconds: 0 };
    const reply = (values: Record<string, string | undefined>): AuthorizationOutcome => ({
      location: redirectWith(request.redirectUri, request.responseMode, { ...values, state: request.state }),
      cookies: [clearCookie],
    });
    if (consumed.status === 'rejected') {
      return reply({ error: 'rejected_consent_request', error_description: consumed.rejectReason || 'The user denied the request' });
    }
    // OpenID Connect Core §3.1.2.1: the consent app vouched for a sign-in (authTime) older than the client accepts.
    const signedInAt = consumed.authTime ?? consumed.decidedAt ?? Date.now();
    if (request.maxAgeSeconds !== undefined && Date.now() - signedInAt > request.maxAgeSeconds * 1000) {
      return reply({ error: 'login_required', error_description: `The user signed in longer ago than max_age (${request.maxAgeSeconds} s) allows` });
    }
    return reply(await this.issue(request, consumed));
  }

  private async issue(request: ValidAuthorizationRequest, consent: ConsentRecord): Promise<Record<string, string | undefined>> {
    const parts = request.responseType.split(' ');
    if (parts.includes('id_token') && !consent.grantedScopes.includes('openid')) {
      return { error: 'access_denied', error_description: 'The user did not grant the openid scope, which an id_token needs' };
    }
    const authorization: Authorization = {
      grantId: this.issuer.newGrantId(),
      clientId: consent.clientId,
      subject: consent.subject,
      scopes: consent.grantedScopes,
      accessTokenExtra: consent.accessTokenExtra,
      idTokenExtra: consent.idTokenExtra,
      authTime: consent.authTime ?? consent.decidedAt ?? Date.now(),
    };
    // What this endpoint issues itself lives as the client's implicit-grant lifespans say (Hydra's, hybrid flows too).
    const lifespans = this.issuer.lifespansFor(request.client, 'implicit');
    const values: Record<string, string | undefined> = {};
    if (parts.includes('code')) {
      values.code = await this.issuer.code(authorization, {
        redirectUri: consent.redirectUri,
        redirectUriGiven: consent.redirectUriGiven,
        nonce: consent.nonce,
        codeChallenge: consent.codeChallenge,
        requestedAt: consent.requestedAt,
      });
    }
    if (parts.includes('token')) {
      const token = await this.issuer.accessToken(authorization, Date.now(), { lifespanMs: lifespans.accessTokenMs });
      Object.assign(values, { access_token: token.access_token, token_type: token.token_type, expires_in: String(token.expires_in), scope: token.scope });
    }
    if (parts.includes('id_token')) {
      values.id_token = await this.issuer.idToken(authorization, {
        nonce: consent.nonce,
        requestedAt: consent.requestedAt,
        accessToken: values.access_token,
        code: values.code,
        lifespanMs: lifespans.idTokenMs,
      });
    }
    return values;
  }
}
