import { LIFESPAN_FIELDS, type LifespanField } from '../../contract/client-settings.js';
import { parseDuration } from '../../contract/duration.js';

/** What issues a token, as Hydra's per-client lifespans name it (the authorization endpoint's tokens are "implicit"). */
export type IssuingGrant = 'authorization_code' | 'client_credentials' | 'implicit' | 'refresh_token';

/** How long what one exchange issues lives (milliseconds). */
export interface TokenLifespans {
  accessTokenMs: number;
  refreshTokenMs: number;
  idTokenMs: number;
}

/** The server's settings: the lifespans of every client that sets none, and the ones no client can set. */
export interface ServerLifespans extends TokenLifespans {
  authorizationCodeMs: number;
  /** How long a retired signing key stays published: no ID token may outlive it. */
  idTokenCeilingMs: number;
}

export type ClientLifespans = Readonly<Record<LifespanField, string | null>>;

const FIELDS: Record<IssuingGrant, Partial<Record<keyof TokenLifespans, LifespanField>>> = {
  authorization_code: {
    accessTokenMs: 'authorization_code_grant_access_token_lifespan',
    idTokenMs: 'authorization_code_grant_id_token_lifespan',
    refreshTokenMs: 'authorization_code_grant_refresh_token_lifespan',
  },
  client_credentials: { accessTokenMs: 'client_credentials_grant_access_token_lifespan' },
  implicit: { accessTokenMs: 'implicit_grant_access_token_lifespan', idTokenMs: 'implicit_grant_id_token_lifespan' },
  refresh_token: {
    accessTokenMs: 'refresh_token_grant_access_token_lifespan',
    idTokenMs: 'refresh_token_grant_id_token_lifespan',
    refreshTokenMs: 'refresh_token_grant_refresh_token_lifespan',
  },
};

/** The client's lifespan where it sets one for this grant, the server's elsewhere. */
export function lifespansOf(client: ClientLifespans, grant: IssuingGrant, server: ServerLifespans): TokenLifespans {
  const fields = FIELDS[grant];
  const pick = (kind: keyof TokenLifespans) => {
    const field = fields[kind];
    const text = field && client[field];
    return (text && parseDuration(text)) || server[kind];
  };
  // The ceiling is checked when the client is saved; a server restarted since with shorter settings still keeps it.
  return { accessTokenMs: pick('accessTokenMs'), refreshTokenMs: pick('refreshTokenMs'), idTokenMs: Math.min(pick('idTokenMs'), server.idTokenCeilingMs) };
}

/** The longest anything issued to the client can live: how long a revoked grant of it must be remembered. */
export function longestLifespanOf(client: ClientLifespans | undefined, server: ServerLifespans): number {
  const own = client ? LIFESPAN_FIELDS.map((field) => (client[field] && parseDuration(client[field])) || 0) : [];
  return Math.max(server.accessTokenMs, server.authorizationCodeMs, server.refreshTokenMs, ...own);
}
