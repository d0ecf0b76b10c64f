import { createHash } from 'node:crypto';
import type { OAuth2Client, OAuth2ClientInput } from '../../sdk/types.js';
import { LIFESPAN_FIELDS, type LifespanField } from '../../contract/client-settings.js';
import type { OAuth2ClientResource, OAuth2ClientSpec } from '../api/oauth2client.js';

/**
 * The `owner` the server records for a client this operator manages. It names the resource, not its uid, so a
 * resource deleted with `deletionPolicy: orphan` and applied again takes its client back.
 */
export function ownerOf(resource: Pick<OAuth2ClientResource, 'metadata'>): string {
  const owner = `gatehouse.dev/${resource.metadata.namespace}/${resource.metadata.name}`;
  if (owner.length <= 255) return owner;
  return `${owner.slice(0, 200)}#${createHash('sha256').update(owner).digest('hex').slice(0, 32)}`;
}

export function isPublic(spec: OAuth2ClientSpec): boolean {
  return spec.tokenEndpointAuthMethod === 'none';
}

/** The client as the server should hold it (without the secret, which is compared through the Secret's revision). */
export function desiredClient(resource: OAuth2ClientResource, clientId: string): Required<Omit<OAuth2ClientInput, 'client_secret'>> {
  const { spec } = resource;
  return {
    id: clientId,
    client_name: spec.clientName ?? '',
    redirect_uris: spec.redirectUris ?? [],
    grant_types: spec.grantTypes,
    response_types: spec.responseTypes?.length ? spec.responseTypes : ['code'],
    // hydra-maester's scopeArray is the same list in another form: both are honoured, each scope once.
    scope: [...new Set([...(spec.scope ? spec.scope.split(' ') : []), ...(spec.scopeArray ?? [])])].join(' '),
    owner: ownerOf(resource),
    policy_uri: spec.policyUri ?? '',
    tos_uri: spec.tosUri ?? '',
    client_uri: spec.clientUri ?? '',
    logo_uri: spec.logoUri ?? '',
    contacts: spec.contacts ?? [],
    public: isPublic(spec),
    audience: spec.audience ?? [],
    allowed_cors_origins: spec.allowedCorsOrigins ?? [],
    post_logout_redirect_uris: spec.postLogoutRedirectUris ?? [],
    skip_consent: spec.skipConsent ?? false,
    ...lifespansOf(spec),
  };
}

/** hydra-maester's tokenLifespans carry Hydra's own field names; the server's setting where one is not given. */
function lifespansOf(spec: OAuth2ClientSpec): Record<LifespanField, string | null> {
  return Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, spec.tokenLifespans?.[field] ?? null])) as Record<LifespanField, string | null>;
}

/** Names of the fields where the server's client differs from the desired one; empty when in line. */
export function driftedFields(desired: ReturnType<typeof desiredClient>, actual: OAuth2Client): string[] {
  const fields = Object.keys(desired) as (keyof typeof desired)[];
  return fields.filter((field) => {
    const want = desired[field];
    const have = actual[field as keyof OAuth2Client];
    if (Array.isArray(want)) {
      // The server may order lists differently and drops repeated entries (the CRD allows them); membership is what
      // matters for every list field, so compare as sets.
      if (!Array.isArray(have)) return true;
      const wanted = new Set<string>(want);
      const had = new Set<string>(have);
      return wanted.size !== had.size || [...wanted].some((value) => !had.has(value));
    }
    return want !== have;
  });
}
