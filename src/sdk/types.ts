/** Wire types of the Gatehouse (Hydra v0.11) API, as the SDK sends and receives them. */
export interface OAuth2Client {
  id: string;
  client_name: string;
  client_secret?: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  scope: string;
  owner: string;
  policy_uri: string;
  tos_uri: string;
  client_uri: string;
  logo_uri: string;
  contacts: string[];
  public: boolean;
}

export type OAuth2ClientInput = Partial<OAuth2Client>;

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

export interface Introspection {
  active: boolean;
  scope?: string;
  client_id?: string;
  sub?: string;
  exp?: number;
  iat?: number;
  nbf?: number;
  username?: string;
  aud?: string | string[];
  iss?: string;
  ext?: Record<string, unknown>;
}

export interface ClientPage {
  clients: OAuth2Client[];
  total: number;
}

export interface WellKnown {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint: string;
  [key: string]: unknown;
}

export interface JsonWebKeySet {
  keys: Array<{ kid: string; alg: string; use: string; kty: string; [key: string]: unknown }>;
}
