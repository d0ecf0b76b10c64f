import { uuidv7 } from '../../../crypto/random.js';
import { OAuthError } from '../../errors.js';
import { scopeCovers, splitScope } from '../scope.js';
import type { TokenResponse } from '../../../contract/oauth2.js';
import type { Grant, GrantRequest } from './grant.js';

type IssueAccessToken = (grant: {
  clientId: string;
  subject: string;
  scopes: string[];
  extra: Record<string, unknown>;
  grantId: string;
}) => Promise<TokenResponse>;

/** RFC 6749 §4.4: a confidential client gets a token for itself, for scopes its registration covers. */
export class ClientCredentialsGrant implements Grant {
  readonly type = 'client_credentials';

  constructor(private readonly issueAccessToken: IssueAccessToken) {}

  issue({ client, form }: GrantRequest): Promise<TokenResponse> {
    const requested = splitScope(form.scope);
    const allowed = splitScope(client.scope);
    const refused = requested.filter((scope) => !scopeCovers(allowed, scope));
    if (refused.length) {
      throw new OAuthError(400, 'invalid_scope', `The client is not allowed to request the scope(s): ${refused.join(' ')}`);
    }
    return this.issueAccessToken({ clientId: client.id, subject: client.id, scopes: requested, extra: {}, grantId: uuidv7() });
  }
}
