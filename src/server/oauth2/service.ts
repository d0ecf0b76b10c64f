import { EXPIRING_TABLES, type ExpiredRows } from '../../db/expired-rows.js';
import type { Introspection, TokenResponse } from '../../contract/oauth2.js';
import { OAuthError, TooManyFailedAuthentications, invalidClient, invalidRequest } from '../errors.js';
import type { AuthenticatedClient, ClientService } from '../client/service.js';
import type { Metrics } from '../../observability/metrics.js';
import { presentedCredentials } from './client-auth.js';
import type { Form } from './form.js';
import type { GrantStore } from './grant-store.js';
import { AuthorizationCodeGrant } from './grants/authorization-code.js';
import { ClientCredentialsGrant } from './grants/client-credentials.js';
import { GrantRegistry } from './grants/grant.js';
import { RefreshTokenGrant } from './grants/refresh-token.js';
import type { TokenIssuer } from './issuer.js';
import { scopeCovers, splitScope } from './scope.js';
import type { AccessTokenRecord, TokenStore } from './token-store.js';

export interface OAuth2Settings {
  issuer: string;
}

/** The token, introspection, revocation and userinfo endpoints' logic. */
export class OAuth2Service {
  private readonly grants: GrantRegistry;

  constructor(
    private readonly clients: ClientService,
    private readonly tokens: TokenStore,
    private readonly grantStore: GrantStore,
    private readonly issuer: TokenIssuer,
    private readonly settings: OAuth2Settings,
    private readonly metrics: Metrics,
    private readonly expired: ExpiredRows,
  ) {
    this.grants = new GrantRegistry([
      new AuthorizationCodeGrant(issuer, grantStore),
      new RefreshTokenGrant(issuer, grantStore),
      new ClientCredentialsGrant(issuer),
    ]);
  }

  /**
   * Authenticates the client of a token, introspection or revocation request, or throws 401 invalid_client. With
   * `publicClients`, a public client is identified by its client_id alone (it has no secret to send).
   */
  async authenticateClient(
    authorization: string | undefined,
    form: Form,
    address = '',
    options: { publicClients?: boolean } = {},
  ): Promise<AuthenticatedClient> {
    const presented = presentedCredentials(authorization, form);
    if (options.publicClients && (!presented || presented.secret === '')) {
      const id = presented?.clientId ?? form.client_id;
      const client = id === undefined ? undefined : await this.clients.findById(id);
      if (client?.public) return client;
    }
    if (!presented) {
      this.metrics.clientAuthFailures.inc({ reason: 'missing' });
      throw invalidClient('Client authentication is required: use HTTP Basic or client_id and client_secret in the body');
    }
    let client: AuthenticatedClient | undefined;
    try {
      client = await this.clients.authenticate(presented.clientId, presented.secret, address);
    } catch (error) {
      if (error instanceof TooManyFailedAuthentications) this.metrics.clientAuthThrottled.inc({ by: error.limitedBy });
      throw error;
    }
    if (!client) {
      this.metrics.clientAuthFailures.inc({ reason: 'invalid' });
      throw invalidClient();
    }
    if (client.secretUsed) this.metrics.clientAuthentications.inc({ secret: client.secretUsed });
    return client;
  }

  /** Dispatches to the grant registered for `grant_type`, once the client has authenticated and may use it. */
  async token(authorization: string | undefined, form: Form, address = ''): Promise<TokenResponse> {
    const grantType = form.grant_type;
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'The grant_type parameter is missing');
    const grant = this.grants.get(grantType);
    if (!grant) throw new OAuthError(400, 'unsupported_grant_type', `The grant type "${grantType}" is not supported by this server`);
    const client = await this.authenticateClient(authorization, form, address, { publicClients: grant.publicClients });
    if (!client.grant_types.includes(grant.type)) {
      throw new OAuthError(400, 'unauthorized_client', `The client is not allowed to use the ${grant.type} grant`);
    }
    const response = await grant.issue({ client, form });
    this.metrics.tokensIssued.inc({ grant_type: grant.type });
    return response;
  }

  /** The grant types the token endpoint serves, for discovery. */
  get grantTypes(): string[] {
    return this.grants.types;
  }

  /** The live record behind an access token, or undefined for anything forged, unknown, expired or revoked. */
  async activeAccessToken(token: string): Promise<AccessTokenRecord | undefined> {
    const storageKey = this.issuer.verify('accessToken', token);
    if (!storageKey) return undefined;
    const record = await this.tokens.findAccessToken(storageKey);
    if (!record || record.expiresAt <= Date.now()) return undefined;
    return record;
  }

  async introspect(token: string, requiredScope: string | undefined): Promise<Introspection> {
    const record = await this.activeAccessToken(token);
    if (!record) return { active: false };
    if (!splitScope(requiredScope).every((scope) => scopeCovers(record.scopes, scope))) return { active: false };
    const iat = Math.floor(record.issuedAt / 1000);
    return {
      active: true,
      scope: record.scopes.join(' '),
      client_id: record.clientId,
      sub: record.subject,
      exp: Math.floor(record.expiresAt / 1000),
      iat,
      nbf: iat,
      // The audiences granted, as Hydra lists them; a token granted none keeps naming its client, as before.
      aud: record.audience.length ? record.audience : record.clientId,
      iss: this.settings.issuer,
      ext: record.extra,
      ...(record.clientSecretUsed ? { client_secret_used: record.clientSecretUsed } : {}),
    };
  }

  /**
   * RFC 7009: revokes the grant of an access or refresh token of the calling client, so both its access and refresh
   * tokens stop working. An unknown token is no error (the client's goal is reached); another client's token is.
   */
  async revoke(authorization: string | undefined, form: Form, address = ''): Promise<void> {
    const client = await this.authenticateClient(authorization, form, address, { publicClients: true });
    if (!form.token) throw invalidRequest('The token parameter is missing');
    const grant = await this.grantOf(form.token);
    if (!grant) return;
    if (grant.clientId !== client.id) throw new OAuthError(400, 'unauthorized_client', 'The token was not issued to this client');
    await this.issuer.revokeGrant(grant.grantId, client);
  }

  /** OpenID Connect userinfo: the subject and the claims the consent app gave the ID token. */
  async userinfo(token: string | undefined): Promise<Record<string, unknown>> {
    if (!token) throw new OAuthError(401, 'invalid_token', 'An access token is required: send "Authorization: Bearer <token>" or access_token in a form body');
    const record = await this.activeAccessToken(token);
    if (!record) throw new OAuthError(401, 'invalid_token', 'The access token is invalid, expired or revoked');
    if (!record.scopes.includes('openid')) throw new OAuthError(403, 'insufficient_scope', 'The access token was not granted the openid scope');
    return { ...record.idTokenExtra, sub: record.subject };
  }

  /** Deletes what expired before now and was issued before `notAfter`: tokens, codes and consent requests. */
  async flush(notAfter: number): Promise<number> {
    const now = Date.now();
    let deleted = 0;
    for (const table of EXPIRING_TABLES) deleted += await this.expired.flush(table, notAfter, now);
    return deleted;
  }

  private async grantOf(token: string): Promise<{ grantId: string; clientId: string } | undefined> {
    const accessKey = this.issuer.verify('accessToken', token);
    if (accessKey) return this.tokens.findAccessToken(accessKey);
    const refreshKey = this.issuer.verify('refreshToken', token);
    if (refreshKey) return this.grantStore.findRefreshToken(refreshKey);
    return undefined;
  }
}
