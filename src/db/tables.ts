import type { Generated } from 'kysely';

// Times are epoch milliseconds and lists are JSON text, so one set of queries serves SQLite and PostgreSQL alike.
export interface ClientTable {
  id: string;
  client_name: string;
  secret_hash: string | null;
  redirect_uris: string;
  grant_types: string;
  response_types: string;
  scope: string;
  owner: string;
  policy_uri: string;
  tos_uri: string;
  client_uri: string;
  logo_uri: string;
  contacts: string;
  public: number;
  created_at: number;
  updated_at: number;
  /** The secret this one replaced, valid until previous_secret_expires_at (a rotation's grace period). */
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | null;
  audience: string;
  allowed_cors_origins: string;
  post_logout_redirect_uris: string;
  skip_consent: number;
  /** The per-client lifespans that are set, by Hydra's field name: {"client_credentials_grant_access_token_lifespan": "5m"}. */
  token_lifespans: string;
}

export interface AccessTokenTable {
  signature_hash: string;
  grant_id: string;
  client_id: string;
  subject: string;
  scope: string;
  extra: string;
  issued_at: number;
  expires_at: number;
  id_token_extra: Generated<string>;
  client_secret_used: 'current' | 'previous' | null;
  /** The audiences granted, a JSON list. */
  audience: Generated<string>;
}

export interface ConsentRequestTable {
  id: string;
  client_id: string;
  query: string;
  response_type: string;
  redirect_uri: string;
  redirect_uri_given: number;
  requested_scopes: string;
  state: string;
  nonce: string;
  code_challenge: string;
  requested_at: number;
  expires_at: number;
  status: string;
  subject: string;
  granted_scopes: string;
  access_token_extra: string;
  id_token_extra: string;
  reject_reason: string;
  decided_at: number | null;
  auth_time: number | null;
  used_at: number | null;
  /** The client's skip_consent when the request was made. */
  skip: number;
}

export interface AuthorizationCodeTable {
  signature_hash: string;
  grant_id: string;
  client_id: string;
  redirect_uri: string;
  redirect_uri_given: number;
  subject: string;
  scope: string;
  access_token_extra: string;
  id_token_extra: string;
  nonce: string;
  code_challenge: string;
  auth_time: number;
  requested_at: number;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface RefreshTokenTable {
  signature_hash: string;
  grant_id: string;
  client_id: string;
  subject: string;
  scope: string;
  access_token_extra: string;
  id_token_extra: string;
  auth_time: number;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface RevokedGrantTable {
  grant_id: string;
  revoked_at: number;
  expires_at: number;
}

export interface JsonWebKeyTable {
  kid: string;
  set_id: string;
  algorithm: string;
  public_jwk: string;
  private_jwk_sealed: string;
  created_at: number;
  retired_at: number | null;
}

export interface PolicyTable {
  id: string;
  document: string;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface Database {
  clients: ClientTable;
  access_tokens: AccessTokenTable;
  consent_requests: ConsentRequestTable;
  authorization_codes: AuthorizationCodeTable;
  refresh_tokens: RefreshTokenTable;
  revoked_grants: RevokedGrantTable;
  json_web_keys: JsonWebKeyTable;
  policies: PolicyTable;
  gatehouse_meta: MetaTable;
}

export type { Generated };
