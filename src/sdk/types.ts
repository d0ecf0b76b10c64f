/**
 * Wire types of the Gatehouse (Hydra v0.11) API, as the SDK sends and receives them: the types of the contract's
 * schemas (src/contract/), which the server validates and answers with, so the two cannot drift.
 */
import type { OAuth2ClientInput, OAuth2ClientWithSecret, SecretRotationInput } from '../contract/client.js';

export type { Introspection, TokenResponse } from '../contract/oauth2.js';
export type { ConsentAcceptanceInput, ConsentRejectionInput, ConsentRequest } from '../contract/consent.js';
export type { OAuth2ClientInput, SecretRotationInput };

/** A client as the API returns it; `client_secret` only in a create response, or an update's that set a secret. */
export type OAuth2Client = OAuth2ClientWithSecret;

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
