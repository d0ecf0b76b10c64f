import { Agent, request, type Dispatcher } from 'undici';
import { GatehouseApiError, GatehouseUnavailableError } from './errors.js';
import type {
  ClientPage,
  ConsentAcceptanceInput,
  ConsentRejectionInput,
  ConsentRequest,
  Introspection,
  JsonWebKeySet,
  OAuth2Client,
  OAuth2ClientInput,
  SecretRotationInput,
  TokenResponse,
  WellKnown,
} from './types.js';

export interface GatehouseClientOptions {
  /** Base URL of the server, e.g. http://localhost:4444 */
  endpoint: string;
  /** Credentials of the client the SDK authenticates as (client credentials grant) for management calls. */
  clientId?: string;
  clientSecret?: string;
  /** Scopes requested for the management token; `hydra.*` covers every management area. */
  scope?: string;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/** Renew this long before expiry, so a token never expires between the check and the call. */
const RENEW_BEFORE_MS = 60_000;

/** A typed client for every Gatehouse endpoint. Management calls fetch and cache their own access token. */
export class GatehouseClient {
  private readonly endpoint: string;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;
  private cachedToken: { value: string; renewAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;

  constructor(private readonly options: GatehouseClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 16 });
  }

  // --- OAuth 2.0 -----------------------------------------------------------------------------------------------

  /** A client-credentials token for the given client (the SDK's own client when none is given). */
  async clientCredentialsToken(scope?: string, credentials = this.credentials()): Promise<TokenResponse> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    return this.call<TokenResponse>('POST', '/oauth2/token', {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(credentials.clientId, credentials.clientSecret) },
    });
  }

  /** Introspects with HTTP Basic of the SDK's own client. */
  async introspect(token: string, scope?: string): Promise<Introspection> {
    const { clientId, clientSecret } = this.credentials();
    const form = new URLSearchParams({ token });
    if (scope) form.set('scope', scope);
    return this.call<Introspection>('POST', '/oauth2/introspect', {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, clientSecret) },
    });
  }

  async flushInactiveTokens(notAfter?: Date): Promise<void> {
    await this.managed('POST', '/oauth2/flush', notAfter ? { notAfter: notAfter.toISOString() } : {});
  }

  // --- Clients -------------------------------------------------------------------------------------------------

  /** `previous_client_secret` with `client_secret_grace_period`: a client registered again in the middle of a rotation. */
  createClient(client: OAuth2ClientInput & SecretRotationInput): Promise<OAuth2Client> {
    return this.managed<OAuth2Client>('POST', '/clients', client);
  }

  /**
   * A secret minted by the server and stored nowhere yet, for a client created later with it as client_secret: the
   * server then stores it under its fast keyed hash, where a secret of one's own choosing costs an scrypt.
   */
  async mintClientSecret(): Promise<string> {
    return (await this.managed<{ client_secret: string }>('POST', '/clients/secrets')).client_secret;
  }

  getClient(id: string): Promise<OAuth2Client> {
    return this.managed<OAuth2Client>('GET', `/clients/${encodeURIComponent(id)}`);
  }

  /** Returns undefined instead of throwing when the client does not exist. */
  async findClient(id: string): Promise<OAuth2Client | undefined> {
    try {
      return await this.getClient(id);
    } catch (error) {
      if (error instanceof GatehouseApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Replaces the client. With a new `client_secret` and `client_secret_grace_period` (a Gatehouse extension), the secret
   * replaced stays valid for that many seconds: a rotation without downtime.
   */
  updateClient(id: string, client: OAuth2ClientInput & SecretRotationInput): Promise<OAuth2Client> {
    return this.managed<OAuth2Client>('PUT', `/clients/${encodeURIComponent(id)}`, client);
  }

  async deleteClient(id: string): Promise<void> {
    await this.managed('DELETE', `/clients/${encodeURIComponent(id)}`);
  }

  async listClients(options: { limit?: number; offset?: number } = {}): Promise<ClientPage> {
    const query = new URLSearchParams({ limit: String(options.limit ?? 100), offset: String(options.offset ?? 0) });
    const { body, headers } = await this.withTokenRenewal(async () =>
      this.callWithHeaders<OAuth2Client[]>('GET', `/clients?${query}`, { headers: await this.bearer() }),
    );
    return { clients: body, total: Number(headers['x-total-count'] ?? body.length) };
  }

  /** Every client, page by page, so memory stays bounded however many there are. */
  async *allClients(pageSize = 500): AsyncGenerator<OAuth2Client> {
    for (let offset = 0; ; offset += pageSize) {
      const page = await this.listClients({ limit: pageSize, offset });
      yield* page.clients;
      if (page.clients.length < pageSize) return;
    }
  }

  // --- Consent (for a consent app: its client needs scope hydra.consent and a policy for the consent requests) ------

  /** The consent request the authorization endpoint sent the user's browser with (`?consent=<id>`). */
  getConsentRequest(id: string): Promise<ConsentRequest> {
    return this.managed<ConsentRequest>('GET', `/oauth2/consent/requests/${encodeURIComponent(id)}`);
  }

  /** Accepts it; then send the browser to the request's redirectUrl. */
  async acceptConsentRequest(id: string, acceptance: ConsentAcceptanceInput): Promise<void> {
    await this.managed('PATCH', `/oauth2/consent/requests/${encodeURIComponent(id)}/accept`, acceptance);
  }

  /** Rejects it; the client gets error=rejected_consent_request with the reason once the browser follows redirectUrl. */
  async rejectConsentRequest(id: string, rejection: ConsentRejectionInput = {}): Promise<void> {
    await this.managed('PATCH', `/oauth2/consent/requests/${encodeURIComponent(id)}/reject`, rejection);
  }

  // --- Discovery and health ------------------------------------------------------------------------------------

  wellKnown(): Promise<WellKnown> {
    return this.call<WellKnown>('GET', '/.well-known/openid-configuration');
  }

  jwks(): Promise<JsonWebKeySet> {
    return this.call<JsonWebKeySet>('GET', '/.well-known/jwks.json');
  }

  async ready(): Promise<boolean> {
    try {
      await this.call('GET', '/health/ready');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.options.dispatcher) await this.dispatcher.close();
  }

  // --- Plumbing ------------------------------------------------------------------------------------------------

  private credentials(): { clientId: string; clientSecret: string } {
    const { clientId, clientSecret } = this.options;
    if (!clientId || !clientSecret) throw new Error('this call needs clientId and clientSecret in the GatehouseClient options');
    return { clientId, clientSecret };
  }

  private async bearer(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.accessToken()}` };
  }

  /** The cached management token, renewed before it expires; concurrent callers share one token request. */
  async accessToken(): Promise<string> {
    if (this.cachedToken && Date.now() < this.cachedToken.renewAt) return this.cachedToken.value;
    this.pendingToken ??= this.clientCredentialsToken(this.options.scope ?? 'hydra.*')
      .then((token) => {
        const lifetimeMs = token.expires_in * 1000;
        this.cachedToken = { value: token.access_token, renewAt: Date.now() + Math.max(lifetimeMs / 2, lifetimeMs - RENEW_BEFORE_MS) };
        return token.access_token;
      })
      .finally(() => {
        this.pendingToken = undefined;
      });
    return this.pendingToken;
  }

  private async managed<T>(method: Dispatcher.HttpMethod, path: string, json?: unknown): Promise<T> {
    const send = async () =>
      this.call<T>(method, path, {
        headers: { ...(await this.bearer()), ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      });
    return this.withTokenRenewal(send);
  }

  /** A token revoked or lost with a wiped database: fetch a new one once, then give up. */
  private async withTokenRenewal<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof GatehouseApiError && error.status === 401) {
        this.cachedToken = undefined;
        return send();
      }
      throw error;
    }
  }

  private async call<T = unknown>(method: Dispatcher.HttpMethod, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<T> {
    return (await this.callWithHeaders<T>(method, path, init)).body;
  }

  private async callWithHeaders<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<{ body: T; headers: Record<string, string | string[] | undefined> }> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.endpoint}${path}`, {
        method,
        dispatcher: this.dispatcher,
        headers: { accept: 'application/json', ...init.headers },
        body: init.body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (error) {
      throw new GatehouseUnavailableError(`cannot reach ${this.endpoint}: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.body.text();
    const body = text ? parseJson(text) : undefined;
    const requestId = response.headers['x-request-id'];
    if (response.statusCode >= 400) throw new GatehouseApiError(response.statusCode, body, typeof requestId === 'string' ? requestId : undefined);
    return { body: body as T, headers: response.headers };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basic(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}
