import type { V1Secret } from '@kubernetes/client-node';
import type { OAuth2Client, OAuth2ClientInput, SecretRotationInput } from '../../sdk/types.js';
import type { OAuth2ClientResource, OAuth2ClientStatus } from '../api/oauth2client.js';
import type { ServerEndpoints } from './secret.js';

/**
 * What the reconciler needs from the world, injected so the decision logic runs in unit tests without a cluster or
 * a server; the real implementations wrap @kubernetes/client-node and the SDK.
 */
export interface ResourcePort {
  get(key: string): OAuth2ClientResource | undefined;
  patchStatus(resource: OAuth2ClientResource, status: OAuth2ClientStatus): Promise<void>;
  setFinalizers(resource: OAuth2ClientResource, finalizers: string[]): Promise<void>;
}

export interface SecretPort {
  get(namespace: string, name: string): Promise<V1Secret | undefined>;
  create(secret: V1Secret): Promise<V1Secret>;
  replace(secret: V1Secret): Promise<V1Secret>;
  delete(namespace: string, name: string): Promise<void>;
}

/** The slice of the SDK the reconciler uses; GatehouseClient implements it. */
export interface ServerApi {
  /** A fresh secret minted by the server, not stored until a client is created or updated with it. */
  mintClientSecret(): Promise<string>;
  findClient(id: string): Promise<OAuth2Client | undefined>;
  createClient(client: OAuth2ClientInput): Promise<OAuth2Client>;
  /** With the rotation fields, the secret replaced stays valid for the grace period (KeyPolicy rotations). */
  updateClient(id: string, client: OAuth2ClientInput & SecretRotationInput): Promise<OAuth2Client>;
  deleteClient(id: string): Promise<void>;
}

export interface ServerPort {
  /** The server a resource talks to; throws ServerSelectionError when its credentials Secret is missing or bad. */
  for(resource: OAuth2ClientResource): Promise<{ api: ServerApi; endpoints: ServerEndpoints }>;
}

export class ServerSelectionError extends Error {
  override name = 'ServerSelectionError';
}

export interface EventPort {
  record(resource: OAuth2ClientResource, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
