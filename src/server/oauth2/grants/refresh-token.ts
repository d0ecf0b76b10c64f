import { OAuthError, invalidGrant, invalidRequest } from '../../errors.js';
import { grantedAudience } from '../audience.js';
import type { GrantStore } from '../grant-store.js';
import type { TokenIssuer } from '../issuer.js';
import { splitScope } from '../scope.js';
import type { TokenResponse } from '../../../contract/oauth2.js';
import type { Grant, GrantRequest } from './grant.js';

const UNUSABLE = 'The refresh token is invalid, expired, revoked, or was issued to another client';

/**
 * RFC 6749 §6 with rotation: each refresh token is exchanged once for a new access token and a new refresh token of
 * the same family; the old access tokens of the family stop working. Presenting a rotated token again means it was
 * copied, so the whole family is revoked (OAuth 2.0 Security BCP §4.14.2).
 */
export class RefreshTokenGrant implements Grant {
  readonly type = 'refresh_token';
  readonly publicClients = true;

  constructor(
    private readonly issuer: TokenIssuer,
    private readonly grants: GrantStore,
  ) {}

  async issue({ client, form }: GrantRequest): Promise<TokenResponse> {
    if (!form.refresh_token) throw invalidRequest('The refresh_token parameter is missing');
    // Checked before the token is spent; the audience is the new access token's (a refresh token carries none).
    const audience = grantedAudience(form, client.audience);
    const storageKey = this.issuer.verify('refreshToken', form.refresh_token);
    const token = storageKey === undefined ? undefined : await this.grants.findRefreshToken(storageKey);
    if (!token || token.clientId !== client.id) throw invalidGrant(UNUSABLE);
    const now = Date.now();
    if (token.usedAt !== undefined) {
      await this.issuer.revokeGrant(token.grantId, client);
      throw invalidGrant('The refresh token was already used; every token of its grant has been revoked');
    }
    if (token.expiresAt <= now) throw invalidGrant(UNUSABLE);
    // RFC 6749 §6: a narrower scope may be asked for; the new refresh token keeps the original one.
    const requested = form.scope === undefined ? token.scopes : [...new Set(splitScope(form.scope))];
    const beyond = requested.filter((scope) => !token.scopes.includes(scope));
    if (beyond.length) throw new OAuthError(400, 'invalid_scope', `The refresh token was not granted the scope(s): ${beyond.join(' ')}`);
    if (!(await this.grants.markRefreshTokenUsed(token.storageKey, now))) {
      await this.issuer.revokeGrant(token.grantId, client);
      throw invalidGrant('The refresh token was already used; every token of its grant has been revoked');
    }
    await this.grants.revokeAccessTokens(token.grantId);
    const lifespans = this.issuer.lifespansFor(client, 'refresh_token');
    const response = await this.issuer.accessToken({ ...token, scopes: requested }, now, {
      clientSecretUsed: client.secretUsed,
      audience,
      lifespanMs: lifespans.accessTokenMs,
    });
    response.refresh_token = await this.issuer.refreshToken(token, now, lifespans.refreshTokenMs);
    if (requested.includes('openid'))
      response.id_token = await this.issuer.idToken(token, { nonce: '', accessToken: response.access_token, lifespanMs: lifespans.idTokenMs }, now);
    if (await this.issuer.withdrawnIfRevoked(token.grantId, client))
      throw invalidGrant('The refresh token was used again while it was exchanged; every token of its grant is revoked');
    return response;
  }
}
