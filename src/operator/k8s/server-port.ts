import { createHash } from 'node:crypto';
import { GatehouseClient } from '../../sdk/client.js';
import type { OAuth2ClientResource } from '../api/oauth2client.js';
import { ServerSelectionError, type SecretPort, type ServerApi, type ServerPort } from '../controller/ports.js';
import { decode, type ServerEndpoints } from '../controller/secret.js';

const DISCOVERY_TTL_MS = 10 * 60_000;

export interface ServerConnection {
  url: string;
  clientId: string;
  clientSecret: string;
}

/**
 * The operator's default server (from its flags) or the one a resource names, with credentials from a Secret in
 * the resource's namespace. SDK clients are kept per (url, id, secret) so their cached management tokens are reused.
 */
export class GatehouseServerPort implements ServerPort {
  private readonly clients = new Map<string, GatehouseClient>();
  private readonly endpoints = new Map<string, { at: number; value: ServerEndpoints }>();

  constructor(
    private readonly defaults: ServerConnection,
    private readonly secrets: SecretPort,
  ) {}

  /** The SDK client of the operator's own (default) server. */
  get defaultClient(): GatehouseClient {
    return this.client(this.defaults);
  }

  async for(resource: OAuth2ClientResource): Promise<{ api: ServerApi; endpoints: ServerEndpoints }> {
    const connection = resource.spec.server ? await this.connectionFor(resource) : this.defaults;
    const client = this.client(connection);
    return { api: client, endpoints: await this.discover(connection.url, client) };
  }

  isDefault(resource: OAuth2ClientResource): boolean {
    return !resource.spec.server;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close()));
  }

  private async connectionFor(resource: OAuth2ClientResource): Promise<ServerConnection> {
    const reference = resource.spec.server!;
    const { name, clientIdKey = 'CLIENT_ID', clientSecretKey = 'CLIENT_SECRET' } = reference.credentialsSecretRef;
    const secret = await this.secrets.get(resource.metadata.namespace, name);
    if (!secret) throw new ServerSelectionError(`spec.server.credentialsSecretRef: Secret ${name} does not exist`);
    const clientId = decode(secret, clientIdKey);
    const clientSecret = decode(secret, clientSecretKey);
    if (!clientId || !clientSecret)
      throw new ServerSelectionError(`spec.server.credentialsSecretRef: Secret ${name} lacks ${clientId ? clientSecretKey : clientIdKey}`);
    return { url: reference.url, clientId, clientSecret };
  }

  private client(connection: ServerConnection): GatehouseClient {
    const key = createHash('sha256').update(`${connection.url}\0${connection.clientId}\0${connection.clientSecret}`).digest('hex');
    let client = this.clients.get(key);
    if (!client) {
      client = new GatehouseClient({ endpoint: connection.url, clientId: connection.clientId, clientSecret: connection.clientSecret, scope: 'hydra.clients' });
      this.clients.set(key, client);
    }
    return client;
  }

  private async discover(url: string, client: GatehouseClient): Promise<ServerEndpoints> {
    const cached = this.endpoints.get(url);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.value;
    const wellKnown = await client.wellKnown();
    const value: ServerEndpoints = {
      issuerUrl: wellKnown.issuer,
      tokenEndpoint: wellKnown.token_endpoint,
      authorizationEndpoint: wellKnown.authorization_endpoint,
      introspectionEndpoint: String(wellKnown.introspection_endpoint ?? `${wellKnown.issuer}/oauth2/introspect`),
      jwksUri: wellKnown.jwks_uri,
    };
    this.endpoints.set(url, { at: Date.now(), value });
    return value;
  }
}
