import { createHmac, randomUUID, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/equal.js';
import type { ConsentAcceptance, ConsentRejection, ConsentRequest } from '../../contract/consent.js';
import { ApiError, badRequest, conflict, notFound } from '../errors.js';
import type { ConsentRecord, ConsentStore } from './store.js';

const COOKIE_PREFIX = 'gatehouse_consent_';

export type NewConsentRequest = Omit<
  ConsentRecord,
  | 'id'
  | 'requestedAt'
  | 'expiresAt'
  | 'status'
  | 'subject'
  | 'grantedScopes'
  | 'accessTokenExtra'
  | 'idTokenExtra'
  | 'rejectReason'
  | 'decidedAt'
  | 'authTime'
  | 'usedAt'
>;

/** Why a consent request cannot carry a decision to the client: the authorization endpoint says it to the client. */
export type UnusableReason = 'unknown' | 'pending' | 'used' | 'expired' | 'tampered';

/**
 * Consent requests: created by the authorization endpoint, read and decided by the consent app through the consent
 * API, carried out once by the browser's second visit to the authorization endpoint.
 */
export class ConsentService {
  constructor(
    private readonly store: ConsentStore,
    private readonly settings: { issuer: string; lifespanMs: number },
    /** Derives the CSRF value of a request, which its cookie and the consent app's redirect both carry. */
    private readonly csrfKey: KeyObject,
  ) {}

  async create(request: NewConsentRequest, now = Date.now()): Promise<{ record: ConsentRecord; csrf: string }> {
    const record: ConsentRecord = {
      ...request,
      // Version 4: the id is all the consent app gets, and a guessable one would let anyone who can call the consent
      // API find requests that are not theirs.
      id: randomUUID(),
      requestedAt: now,
      expiresAt: now + this.settings.lifespanMs,
      status: 'pending',
      subject: '',
      grantedScopes: [],
      accessTokenExtra: {},
      idTokenExtra: {},
      rejectReason: '',
      decidedAt: undefined,
      authTime: undefined,
      usedAt: undefined,
    };
    await this.store.create(record);
    return { record, csrf: this.csrfOf(record.id) };
  }

  get lifespanMs(): number {
    return this.settings.lifespanMs;
  }

  /** The request as the consent app sees it (loaded by the management hook), or 404/410. */
  view(id: string, record: ConsentRecord | undefined, now = Date.now()): ConsentRequest {
    const usable = this.decidable(id, record, now, 'read');
    return {
      id: usable.id,
      requestedScopes: usable.requestedScopes,
      clientId: usable.clientId,
      expiresAt: new Date(usable.expiresAt).toISOString(),
      redirectUrl: this.redirectUrlOf(usable),
      skip: usable.skip,
    };
  }

  async accept(id: string, record: ConsentRecord | undefined, acceptance: ConsentAcceptance, now = Date.now()): Promise<void> {
    const usable = this.decidable(id, record, now, 'accept');
    if (acceptance.authTime !== undefined && Date.parse(acceptance.authTime) > now + CLOCK_SKEW_MS) {
      throw badRequest('authTime is in the future: it says when the user signed in', [{ field: 'authTime', message: 'must not be in the future' }]);
    }
    const notRequested = acceptance.grantScopes.filter((scope) => !usable.requestedScopes.includes(scope));
    if (notRequested.length) {
      throw badRequest(
        `grantScopes may only hold scopes the client requested (${usable.requestedScopes.join(' ') || 'none'}); not requested: ${notRequested.join(' ')}`,
        [{ field: 'grantScopes', message: 'must be a subset of requestedScopes' }],
      );
    }
    const decided = await this.store.decide(
      id,
      {
        status: 'accepted',
        subject: acceptance.subject,
        grantedScopes: [...new Set(acceptance.grantScopes)],
        accessTokenExtra: acceptance.accessTokenExtra,
        idTokenExtra: acceptance.idTokenExtra,
        rejectReason: '',
        authTime: acceptance.authTime === undefined ? undefined : Date.parse(acceptance.authTime),
      },
      now,
    );
    if (!decided) throw alreadyDecided(id);
  }

  async reject(id: string, record: ConsentRecord | undefined, rejection: ConsentRejection, now = Date.now()): Promise<void> {
    this.decidable(id, record, now, 'reject');
    const decided = await this.store.decide(
      id,
      { status: 'rejected', subject: '', grantedScopes: [], accessTokenExtra: {}, idTokenExtra: {}, rejectReason: rejection.reason, authTime: undefined },
      now,
    );
    if (!decided) throw alreadyDecided(id);
  }

  /** Loads a request for the management hook: undefined for an id that is not a UUID, which no request has. */
  find(id: string): Promise<ConsentRecord | undefined> {
    return UUID.test(id) ? this.store.get(id) : Promise.resolve(undefined);
  }

  /**
   * The decided request, marked used so no second visit can carry it out again; or why it cannot be used. The CSRF
   * value must be the one this request's cookie and redirect carry, and `query` (the visit's own, without consent
   * parameters) the one the consent was given for: a changed request spends nothing.
   */
  async consume(
    id: string,
    query: string,
    csrf: { fromQuery: string; fromCookie: string | undefined },
    now = Date.now(),
  ): Promise<ConsentRecord | UnusableReason | 'csrf'> {
    const expected = this.csrfOf(id);
    if (!csrf.fromCookie || !constantTimeEqual(csrf.fromCookie, expected) || !constantTimeEqual(csrf.fromQuery, expected)) return 'csrf';
    if (!UUID.test(id)) return 'unknown';
    const consumed = await this.store.consume(id, query, now);
    if (consumed) return consumed;
    const record = await this.store.get(id);
    if (!record) return 'unknown';
    if (record.query !== query) return 'tampered';
    if (record.usedAt !== undefined) return 'used';
    if (record.expiresAt <= now) return 'expired';
    return 'pending';
  }

  cookieNameOf(id: string): string {
    return `${COOKIE_PREFIX}${id}`;
  }

  isCookieName(name: string): boolean {
    return name.startsWith(COOKIE_PREFIX);
  }

  private csrfOf(id: string): string {
    return createHmac('sha256', this.csrfKey).update(`consent-csrf:${id}`).digest('base64url');
  }

  private redirectUrlOf(record: ConsentRecord): string {
    const query = new URLSearchParams(record.query);
    query.set('consent', record.id);
    query.set('consent_csrf', this.csrfOf(record.id));
    return `${this.settings.issuer}/oauth2/auth?${query.toString()}`;
  }

  private decidable(id: string, record: ConsentRecord | undefined, now: number, what: 'read' | 'accept' | 'reject'): ConsentRecord {
    if (!record) throw notFound(`consent request "${id}"`);
    if (record.expiresAt <= now)
      throw new ApiError(410, `consent request "${id}" expired at ${new Date(record.expiresAt).toISOString()}`, 'The consent request expired');
    if (record.usedAt !== undefined) throw new ApiError(410, `consent request "${id}" was already used`, 'The consent request was already used');
    if (what !== 'read' && record.status !== 'pending') throw alreadyDecided(id, record.status);
    return record;
  }
}

// The consent app's clock may run a little ahead of the server's.
const CLOCK_SKEW_MS = 60_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const alreadyDecided = (id: string, status?: string) =>
  conflict(`consent request "${id}" was already ${status ?? 'accepted or rejected'}; a consent request is decided once`);
