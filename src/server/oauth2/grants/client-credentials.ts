import { OAuthError } from '../../errors.js';
import { grantedAudience } from '../audience.js';
import type { TokenIssuer } from '../issuer.js';
import { scopeCovers, splitScope } from '../scope.js';
import type { TokenResponse } from '../../../contract/oauth2.js';
import type { Grant, GrantRequest } from './grant.js';

/** RFC 6749 §4.4: a confidential client gets a token for itself, for scopes and audiences its registration covers. */
export class ClientCredentialsGrant implements Grant {
  readonly type = 'client_credentials';
  readonly publicClients = false;

  constructor(private readonly issuer: TokenIssuer) {}

  issue({ client, form }: GrantRequest): Promise<TokenResponse> {
    const requested = splitScope(form.scope);
    const allowed = splitScope(client.scope);
    const refused = requested.filter((scope) => !scopeCovers(allowed, scope));
    if (refused.length) {
      throw new OAuthError(400, 'invalid_scope', `The client is not allowed to request the scope(s): ${refused.join(' ')}`);
    }
    const audience = grantedAudience(form, client.audience);
    const now = Date.now();
    return this.issuer.accessToken(
      { grantId: this.issuer.newGrantId(), clientId: client.id, subject: client.id, scopes: requested, accessTokenExtra: {}, idTokenExtra: {}, authTime: now },
      now,
      { clientSecretUsed: client.secretUsed, audience, lifespanMs: this.issuer.lifespansFor(client, 'client_credentials').accessTokenMs },
    );
  }
}
