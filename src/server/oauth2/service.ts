import type { OpaqueTokens } from '../../crypto/opaque-token.js';
import type { Introspection, TokenResponse } from '../../contract/oauth2.js';
import { OAuthError, TooManyFailedAuthentications, invalidClient } from '../errors.js';
import type { ClientService } from '../client/service.js';
import type { StoredClient } from '../client/store.js';
import type { Metrics } from '../../observability/metrics.js';
import { presentedCredentials } from './client-auth.js';
import type { Form } from './form.js';
import { ClientCredentialsGrant } from './grants/client-credentials.js';
import { GrantRegistry } from './grants/grant.js';
import { scopeCovers, splitScope } from './scope.js';
import type { AccessTokenRecord, TokenStore } from './token-store.js';

export interface OAuth2Settings {
  issuer: string;
  accessTokenLifespanMs: number;
}

export class OAuth2Service {
  private readonly grants: GrantRegistry;

  constructor(
    private readonly clients: ClientService,
    private readonly tokens: TokenStore,
    private readonly opaque: OpaqueTokens,
    private readonly settings: OAuth2Settings,
    private readonly metrics: Metrics,
  ) {
    this.grants = new GrantRegistry([new ClientCredentialsGrant((grant) => this.issueAccessToken(grant))]);
  }

  /** Authenticates the client of a token, introspection or revocation request, or throws 401 invalid_client. */
  async authenticateClient(authorization: string | undefined, form: Form, address = ''): Promise<StoredClient> {
    const presented = presentedCredentials(authorization, form);
    if (!presented) {
      this.metrics.clientAuthFailures.inc({ reason: 'missing' });
      throw invalidClient('Client authentication is required: use HTTP Basic or client_id and client_secret in the body');
    }
    let client: StoredClient | undefined;
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
    return client;
  }

  /** Dispatches to the grant registered for `grant_type`, once the client has authenticated and may use it. */
  async token(authorization: string | undefined, form: Form, address = ''): Promise<TokenResponse> {
    const grantType = form.grant_type;
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'The grant_type parameter is missing');
    const grant = this.grants.get(grantType);
    if (!grant) throw new OAuthError(400, 'unsupported_grant_type', `The grant type "${grantType}" is not supported by this server`);
    const client = await this.authenticateClient(authorization, form, address);
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

  async issueAccessToken(grant: {
    clientId: string;
    subject: string;
    scopes: string[];
    extra: Record<string, unknown>;
    grantId: string;
  }): Promise<TokenResponse> {
    const { token, storageKey } = this.opaque.issue();
    const issuedAt = Date.now();
    const expiresAt = issuedAt + this.settings.accessTokenLifespanMs;
    await this.tokens.saveAccessToken({ storageKey, ...grant, issuedAt, expiresAt });
    return {
      access_token: token,
      token_type: 'bearer',
      expires_in: Math.floor(this.settings.accessTokenLifespanMs / 1000),
      scope: grant.scopes.join(' '),
    };
  }

  /** The live record behind an access token, or undefined for anything forged, unknown, expired or revoked. */
  async activeAccessToken(token: string): Promise<AccessTokenRecord | undefined> {
    const storageKey = this.opaque.verify(token);
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
      aud: record.clientId,
      iss: this.settings.issuer,
      ext: record.extra,
    };
  }

  async flush(notAfter: number): Promise<number> {
    return this.tokens.flushExpired(notAfter, Date.now());
  }
}
