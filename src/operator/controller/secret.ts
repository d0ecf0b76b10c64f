import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { GROUP, KIND, VERSION, type OAuth2ClientResource } from '../api/oauth2client.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'gatehouse-operator';
/** On a Secret released by `deletionPolicy: orphan`: which resource may take it back. */
export const ORPHANED_FROM = 'gatehouse.dev/orphaned-from';

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

export function keysOf(resource: OAuth2ClientResource): { idKey: string; secretKey: string } {
  return {
    idKey: resource.spec.secretTemplate?.clientIdKey ?? 'CLIENT_ID',
    secretKey: resource.spec.secretTemplate?.clientSecretKey ?? 'CLIENT_SECRET',
  };
}

export function decode(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

export function credentialsIn(resource: OAuth2ClientResource, secret: V1Secret | undefined): Partial<Credentials> {
  const { idKey, secretKey } = keysOf(resource);
  return { clientId: decode(secret, idKey) || undefined, clientSecret: decode(secret, secretKey) || undefined };
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
  for (const [key, source] of Object.entries(template?.extraKeys ?? {})) values[key] = extra[source] ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: resource.spec.secretName,
      namespace: resource.metadata.namespace,
      labels: { ...(template?.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: template?.annotations ?? {},
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
