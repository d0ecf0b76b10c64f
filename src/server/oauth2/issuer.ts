import { uuidv7 } from '../../crypto/random.js';
import type { OpaqueTokens } from '../../crypto/opaque-token.js';
import type { TokenResponse } from '../../contract/oauth2.js';
import type { Authorization, CodeRecord, GrantStore } from './grant-store.js';
import type { IdTokenSigner } from './id-token.js';
import { lifespansOf, longestLifespanOf, type ClientLifespans, type IssuingGrant, type ServerLifespans, type TokenLifespans } from './lifespans.js';
import type { TokenStore } from './token-store.js';

export interface AccessTokenOptions {
  /** Which secret the client authenticated with, recorded with the access token (introspection tells). */
  clientSecretUsed?: 'current' | 'previous';
  /** The audiences granted (introspection's aud). */
  audience?: string[];
  /** How long it lives; the server's setting when left out. */
  lifespanMs?: number;
}

export interface IssueOptions extends Omit<AccessTokenOptions, 'lifespanMs'> {
  /** Also a refresh token (the caller has checked offline access and the client's grant). */
  refresh: boolean;
  /** Also an ID token, with this nonce (empty for none) and request time. */
  idToken?: { nonce: string; requestedAt: number };
  /** How long each token lives (lifespansFor). */
  lifespans: TokenLifespans;
}

export const OFFLINE_SCOPES = ['offline', 'offline_access'];

/**
 * Mints what the flows hand out: access tokens, refresh tokens, authorization codes and ID tokens, each stored (or
 * signed) with the authorization it carries. The token endpoint's grants and the authorization endpoint share it.
 */
export class TokenIssuer {
  constructor(
    private readonly opaque: { accessToken: OpaqueTokens; refreshToken: OpaqueTokens; authorizationCode: OpaqueTokens },
    private readonly accessTokens: TokenStore,
    private readonly grants: GrantStore,
    private readonly idTokens: IdTokenSigner,
    private readonly lifespans: ServerLifespans,
  ) {}

  /** How long what the grant issues to the client lives: its own lifespans where it has them. */
  lifespansFor(client: ClientLifespans, grant: IssuingGrant): TokenLifespans {
    return lifespansOf(client, grant, this.lifespans);
  }

  /** A fresh grant id: one per authorization, shared by everything issued from it. */
  newGrantId(): string {
    return uuidv7();
  }

  async accessToken(authorization: Authorization, now = Date.now(), options: AccessTokenOptions = {}): Promise<TokenResponse> {
    const { clientSecretUsed, audience = [], lifespanMs = this.lifespans.accessTokenMs } = options;
    const { token, storageKey } = this.opaque.accessToken.issue(now);
    await this.accessTokens.saveAccessToken({
      storageKey,
      grantId: authorization.grantId,
      clientId: authorization.clientId,
      subject: authorization.subject,
      scopes: authorization.scopes,
      extra: authorization.accessTokenExtra,
      idTokenExtra: authorization.idTokenExtra,
      issuedAt: now,
      expiresAt: now + lifespanMs,
      clientSecretUsed,
      audience,
    });
    return { access_token: token, token_type: 'bearer', expires_in: Math.floor(lifespanMs / 1000), scope: authorization.scopes.join(' ') };
  }

  /** The token endpoint's answer for a user's authorization: an access token, and what the options ask for. */
  async tokenResponse(authorization: Authorization, options: IssueOptions, now = Date.now()): Promise<TokenResponse> {
    const { lifespans } = options;
    const response = await this.accessToken(authorization, now, { ...options, lifespanMs: lifespans.accessTokenMs });
    if (options.refresh) response.refresh_token = await this.refreshToken(authorization, now, lifespans.refreshTokenMs);
    if (options.idToken)
      response.id_token = await this.idToken(authorization, { ...options.idToken, accessToken: response.access_token, lifespanMs: lifespans.idTokenMs }, now);
    return response;
  }

  async refreshToken(authorization: Authorization, now = Date.now(), lifespanMs = this.lifespans.refreshTokenMs): Promise<string> {
    const { token, storageKey } = this.opaque.refreshToken.issue(now);
    await this.grants.saveRefreshToken({ ...authorization, storageKey, issuedAt: now, expiresAt: now + lifespanMs, usedAt: undefined });
    return token;
  }

  async code(
    authorization: Authorization,
    request: Pick<CodeRecord, 'redirectUri' | 'redirectUriGiven' | 'nonce' | 'codeChallenge' | 'requestedAt'>,
    now = Date.now(),
  ): Promise<string> {
    const { token, storageKey } = this.opaque.authorizationCode.issue(now);
    await this.grants.saveCode({
      ...authorization,
      ...request,
      storageKey,
      issuedAt: now,
      expiresAt: now + this.lifespans.authorizationCodeMs,
      usedAt: undefined,
    });
    return token;
  }

  idToken(
    authorization: Authorization,
    /**
     * requestedAt: when the authorization was requested (rat); unknown after a refresh, so left out there. lifespanMs:
     * the server's setting when left out.
     */
    context: { nonce: string; requestedAt?: number; accessToken?: string; code?: string; lifespanMs?: number },
    now = Date.now(),
  ): Promise<string> {
    return this.idTokens.sign(
      {
        clientId: authorization.clientId,
        subject: authorization.subject,
        authTime: authorization.authTime,
        requestedAt: context.requestedAt,
        nonce: context.nonce || undefined,
        accessToken: context.accessToken,
        code: context.code,
        extra: authorization.idTokenExtra,
        lifespanMs: context.lifespanMs,
      },
      now,
    );
  }

  /**
   * Revokes every token of the grant, and whatever an exchange under way writes for it after this (withdrawnIfRevoked),
   * for as long as anything issued to `client` (whose lifespans may be its own) can live.
   */
  revokeGrant(grantId: string, client?: ClientLifespans): Promise<void> {
    return this.grants.revokeGrant(grantId, Date.now() + longestLifespanOf(client, this.lifespans));
  }

  /**
   * For an exchange that has written its tokens: when the grant was revoked meanwhile (a replay or a revocation racing
   * it, while its group-committed writes waited), deletes them again; whether it did.
   */
  async withdrawnIfRevoked(grantId: string, client: ClientLifespans): Promise<boolean> {
    if (!(await this.grants.isRevoked(grantId))) return false;
    await this.revokeGrant(grantId, client);
    return true;
  }

  /** The storage key of a well-formed, genuine token of the kind, or undefined: forged ones never reach the database. */
  verify(kind: 'accessToken' | 'refreshToken' | 'authorizationCode', token: string): string | undefined {
    return this.opaque[kind].verify(token);
  }
}
