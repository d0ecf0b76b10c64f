import { invalidGrant, invalidRequest } from '../../errors.js';
import { grantedAudience } from '../audience.js';
import type { ClientLifespans } from '../lifespans.js';
import type { CodeRecord, GrantStore } from '../grant-store.js';
import type { Form } from '../form.js';
import { OFFLINE_SCOPES, type TokenIssuer } from '../issuer.js';
import { s256ChallengeOf, verifierMatches } from '../pkce.js';
import type { TokenResponse } from '../../../contract/oauth2.js';
import type { Grant, GrantRequest } from './grant.js';

const UNUSABLE = 'The authorization code is invalid, expired, or was issued to another client';

/** Whether tokens issued for these scopes to this client include a refresh token (offline access and the grant). */
export const mayRefresh = (scopes: readonly string[], clientGrants: readonly string[]) =>
  scopes.some((scope) => OFFLINE_SCOPES.includes(scope)) && clientGrants.includes('refresh_token');

/**
 * RFC 6749 §4.1.3 with RFC 7636: a code is exchanged once, by the client it was issued to, at the redirect URI it was
 * issued for, with the verifier of its challenge. A second exchange revokes what the first one got (§10.5).
 */
export class AuthorizationCodeGrant implements Grant {
  readonly type = 'authorization_code';
  readonly publicClients = true;

  constructor(
    private readonly issuer: TokenIssuer,
    private readonly grants: GrantStore,
  ) {}

  async issue({ client, form }: GrantRequest): Promise<TokenResponse> {
    if (!form.code) throw invalidRequest('The code parameter is missing');
    // Checked before the code is spent: a refused request leaves it for a corrected one.
    const audience = grantedAudience(form, client.audience);
    const storageKey = this.issuer.verify('authorizationCode', form.code);
    const verifierChallenge = form.code_verifier === undefined ? '' : s256ChallengeOf(form.code_verifier);
    const redeemed =
      storageKey === undefined || verifierChallenge === undefined
        ? undefined
        : await this.grants.redeemCode(storageKey, { clientId: client.id, now: Date.now(), redirectUri: form.redirect_uri, verifierChallenge });
    const code = redeemed ?? (await this.redeemExplaining(storageKey, client, form));
    const response = await this.issuer.tokenResponse(code, {
      clientSecretUsed: client.secretUsed,
      audience,
      lifespans: this.issuer.lifespansFor(client, 'authorization_code'),
      refresh: mayRefresh(code.scopes, client.grant_types),
      idToken: code.scopes.includes('openid') ? { nonce: code.nonce, requestedAt: code.requestedAt } : undefined,
    });
    if (await this.issuer.withdrawnIfRevoked(code.grantId, client))
      throw invalidGrant('The authorization code was used again while it was exchanged; its tokens are revoked');
    return response;
  }

  /** The slow path, when the one-statement redemption refused: finds out why, revoking the grant of a replayed code. */
  private async redeemExplaining(storageKey: string | undefined, client: ClientLifespans & { id: string }, form: Form): Promise<CodeRecord> {
    const code = storageKey === undefined ? undefined : await this.grants.findCode(storageKey);
    // Another client's code is refused without spending it, so a client cannot burn codes it was not given.
    if (!code || code.clientId !== client.id) throw invalidGrant(UNUSABLE);
    const now = Date.now();
    // Checked before the code is spent, and before a replay revokes its grant: someone holding a stolen code but not
    // the verifier can neither burn it nor, once it was used, revoke the tokens the client got for it.
    if ((code.redirectUriGiven || form.redirect_uri !== undefined) && form.redirect_uri !== code.redirectUri) {
      throw invalidGrant('The redirect_uri differs from the one of the authorization request');
    }
    if (code.codeChallenge) {
      if (!form.code_verifier) throw invalidGrant('The code_verifier parameter is missing: the authorization request sent a code_challenge');
      if (!verifierMatches(form.code_verifier, code.codeChallenge))
        throw invalidGrant('The code_verifier does not match the code_challenge of the authorization request');
    } else if (form.code_verifier !== undefined) {
      throw invalidGrant('A code_verifier was sent, but the authorization request sent no code_challenge');
    }
    if (code.usedAt !== undefined) return this.replayed(code.grantId, client);
    if (code.expiresAt <= now) throw invalidGrant(UNUSABLE);
    // Two exchanges racing: the one that marks it first wins, the other counts as a replay.
    if (!(await this.grants.markCodeUsed(code.storageKey, now))) return this.replayed(code.grantId, client);
    return code;
  }

  private async replayed(grantId: string, client: ClientLifespans): Promise<never> {
    await this.issuer.revokeGrant(grantId, client);
    throw invalidGrant('The authorization code was already used; the tokens issued for it have been revoked');
  }
}
