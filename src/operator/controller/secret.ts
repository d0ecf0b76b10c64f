import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { GROUP, KIND, VERSION, type OAuth2ClientResource } from '../api/oauth2client.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'gatehouse-operator';
import { CREDENTIAL_KEYS } from '../api/common.js';

export interface ServerEndpoints {
  issuerUrl: string;
  tokenEndpoint: string;
  authorizationEndpoint: string;
  introspectionEndpoint: string;
  jwksUri: string;
}

export interface Credentials {
  clientId: string;
  /** Absent for public clients. */
  clientSecret?: string;
}

const DEFAULT_KEYS = { idKey: 'CLIENT_ID', secretKey: 'CLIENT_SECRET' };
/** hydra-maester's key names in its samples, which Secrets its users created by hand often still carry. */
const HYDRA_MAESTER_KEYS = { idKey: 'client_id', secretKey: 'client_secret' };

export function keysOf(resource: OAuth2ClientResource): { idKey: string; secretKey: string } {
  return {
    idKey: resource.spec.secretTemplate?.clientIdKey ?? DEFAULT_KEYS.idKey,
    secretKey: resource.spec.secretTemplate?.clientSecretKey ?? DEFAULT_KEYS.secretKey,
  };
}

export function decode(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/** Credentials in a Secret under the resource's key names (a user's existingSecret). */
export function credentialsIn(resource: OAuth2ClientResource, secret: V1Secret | undefined): Partial<Credentials> {
  return read(secret, keysOf(resource));
}

/**
 * Credentials in a user's Secret: under the resource's key names, else the defaults, else hydra-maester's lowercase
 * client_id/client_secret. A KeyPolicy's key names are laid over the resource's, but a user's Secret keeps the names
 * its user gave it.
 */
export function userCredentialsIn(resource: OAuth2ClientResource, secret: V1Secret | undefined): Partial<Credentials> {
  return firstHolding(secret, [keysOf(resource), DEFAULT_KEYS, HYDRA_MAESTER_KEYS]) ?? credentialsIn(resource, secret);
}

/**
 * Where a Secret the operator wrote holds the credentials: under the keys it recorded there when it wrote them.
 * When the key names change (the resource's or its KeyPolicy's template), the credentials are found under the old
 * names and move to the new ones; were they looked for under the new names only, a fresh secret would be minted and
 * every application still holding the old one locked out.
 */
export function heldKeysOf(resource: OAuth2ClientResource, secret: V1Secret | undefined): { idKey: string; secretKey: string } {
  const [idKey, secretKey, ...rest] = secret?.metadata?.annotations?.[CREDENTIAL_KEYS]?.split(',') ?? [];
  return idKey && secretKey && idKey !== secretKey && rest.length === 0 ? { idKey, secretKey } : keysOf(resource);
}

/** Credentials in a Secret the operator wrote, wherever it put them (heldKeysOf). */
export function heldCredentialsIn(resource: OAuth2ClientResource, secret: V1Secret | undefined): Partial<Credentials> {
  const held = heldKeysOf(resource, secret);
  if (secret?.metadata?.annotations?.[CREDENTIAL_KEYS]) return read(secret, held);
  // A Secret written before the key names were recorded, whose resource names new keys in the same change: its
  // credentials are still under the defaults, and must not be taken for missing (a new secret would be minted).
  return firstHolding(secret, [held, DEFAULT_KEYS]) ?? read(secret, held);
}

/** The credentials under the first of `candidates` that holds a secret; undefined when none does. */
function firstHolding(secret: V1Secret | undefined, candidates: { idKey: string; secretKey: string }[]): Partial<Credentials> | undefined {
  for (const keys of candidates) {
    const found = read(secret, keys);
    if (found.clientSecret) return found;
  }
  return undefined;
}

function read(secret: V1Secret | undefined, keys: { idKey: string; secretKey: string }): Partial<Credentials> {
  return { clientId: decode(secret, keys.idKey) || undefined, clientSecret: decode(secret, keys.secretKey) || undefined };
}

export function controllerReference(resource: OAuth2ClientResource): V1OwnerReference {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    name: resource.metadata.name,
    uid: resource.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether this resource created (controls) the Secret. */
export function controls(resource: OAuth2ClientResource, secret: V1Secret): boolean {
  return (secret.metadata?.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === resource.metadata.uid);
}

/** Whether another OAuth2Client controls the Secret: its credentials are that client's, never to be used or taken. */
export function controlledByAnother(resource: OAuth2ClientResource, secret: V1Secret): boolean {
  return (secret.metadata?.ownerReferences ?? []).some((ref) => ref.controller && ref.kind === KIND && ref.uid !== resource.metadata.uid);
}

/** The Secret this operator maintains for a resource: credentials, template keys, labels and annotations. */
export function desiredSecret(resource: OAuth2ClientResource, credentials: Credentials, endpoints: ServerEndpoints): V1Secret {
  const { idKey, secretKey } = keysOf(resource);
  const template = resource.spec.secretTemplate;
  const values: Record<string, string> = { [idKey]: credentials.clientId };
  if (credentials.clientSecret) values[secretKey] = credentials.clientSecret;
  const extra: Record<string, string> = {
    ...endpoints,
    clientName: resource.spec.clientName ?? '',
    scope: resource.spec.scope ?? '',
  };
  // An extra key never takes the place of a credential (a KeyPolicy's key names can meet a client's own extra keys).
  for (const [key, source] of Object.entries(template?.extraKeys ?? {})) if (key !== idKey && key !== secretKey) values[key] = extra[source] ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: resource.spec.secretName,
      namespace: resource.metadata.namespace,
      labels: { ...(template?.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { ...template?.annotations, [CREDENTIAL_KEYS]: `${idKey},${secretKey}` },
      ownerReferences: [controllerReference(resource)],
    },
    data: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  };
}

/** True when the existing Secret already says what the desired one says (extra keys or labels of others are kept). */
export function secretUpToDate(existing: V1Secret, desired: V1Secret): boolean {
  const sameMap = (want: Record<string, string> | undefined, have: Record<string, string> | undefined) =>
    Object.entries(want ?? {}).every(([key, value]) => have?.[key] === value);
  const onlyOurKeys = Object.keys(existing.data ?? {}).every((key) => key in (desired.data ?? {}));
  return (
    onlyOurKeys &&
    sameMap(desired.data, existing.data) &&
    sameMap(desired.metadata?.labels, existing.metadata?.labels) &&
    sameMap(desired.metadata?.annotations, existing.metadata?.annotations)
  );
}
