import { z } from 'zod';
import { LIFESPAN_FIELDS, type LifespanField } from '../../contract/client-settings.js';
import { DURATION } from '../../contract/duration.js';
import { absoluteUri, patterned } from './common.js';

// hydra-maester's OAuth2Client fields that Gatehouse's own spec does not name the same way. A hydra-maester manifest
// moves over by changing its apiVersion: every field is accepted; those the server can carry take effect
// (HYDRA_CARRIED), the others are named in the SpecWarnings condition (ignoredHydraFields).

// The server's own reading of a duration (hydra-maester's pattern also lets ns and us through, which no token lifespan
// needs and the server refuses; it refuses 1.5h, which both read).
const lifespan = patterned(DURATION, 'must be a duration such as 1h, 30m, 90s or 1.5h').max(64).optional();

/** "Access tokens of the authorization_code grant", from the field's name. */
function lifespanDescription(field: LifespanField): string {
  const [, grant, token] = /^(.+)_grant_(.+)_token_lifespan$/.exec(field)!;
  const kind = { access: 'Access', id: 'ID', refresh: 'Refresh' }[token!]!;
  return `${kind} tokens of the ${grant!} grant`;
}

/** hydra-maester's tokenLifespans: Hydra's per-grant lifespans, in Hydra's own (snake_case) names. */
export const tokenLifespans = z
  .object({
    ...(Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, lifespan.describe(lifespanDescription(field))])) as Record<LifespanField, typeof lifespan>),
    jwt_bearer_grant_access_token_lifespan: lifespan.describe('Accepted for hydra-maester manifests; Gatehouse has no jwt-bearer grant, so it has no effect'),
  })
  .strict()
  .describe('How long tokens issued to this client live, per grant; the server settings where omitted');

const ignored = (what: string) => `Accepted for hydra-maester manifests; ${what}, so it has no effect (named in the SpecWarnings condition when set)`;
const noLogout = ignored('Gatehouse has no logout endpoints yet');

/** Fields hydra-maester has that Gatehouse carries to the server (the server's field in desiredClient). */
export const hydraCarriedFields = {
  audience: z
    .array(z.string().min(1).max(2048))
    .max(100)
    .optional()
    .describe('Audiences this client may request tokens for (the token request’s audience parameter)'),
  allowedCorsOrigins: z
    .array(patterned(/^https?:\/\/[^/\s?#]+$/, 'must be an origin: http(s)://host[:port], without a path').max(2048))
    .max(100)
    .optional()
    .describe(
      'Browser origins allowed to call the server’s public endpoints (token, revocation, userinfo, discovery, keys) when the server enables CORS; the server allows each listed origin for every client, not only this one',
    ),
  postLogoutRedirectUris: z
    .array(absoluteUri)
    .max(100)
    .optional()
    .describe('Where the client may send the user after logout (stored on the server for OpenID Connect logout)'),
  skipConsent: z.boolean().optional().describe('The consent request tells the consent app to skip asking the user (skip: true)'),
  scopeArray: z
    .array(patterned(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token: printable characters without spaces, quotes or backslashes').max(255))
    .max(200)
    .optional()
    .describe('hydra-maester’s list form of scope: joined with scope'),
  tokenLifespans: tokenLifespans.optional(),
};

/** Fields hydra-maester has that the server has no meaning for: accepted, and reported when set. */
export const hydraIgnoredFields = {
  accessTokenStrategy: z.string().max(64).optional().describe(ignored('Gatehouse issues opaque access tokens only')),
  backChannelLogoutSessionRequired: z.boolean().optional().describe(noLogout),
  backChannelLogoutURI: z.string().max(2048).optional().describe(noLogout),
  frontChannelLogoutSessionRequired: z.boolean().optional().describe(noLogout),
  frontChannelLogoutURI: z.string().max(2048).optional().describe(noLogout),
  clientSecretExpiresAt: z.number().int().optional().describe(ignored('client secrets do not expire on their own (rotate them with a KeyPolicy)')),
  hydraAdmin: z
    .object({
      url: z.string().max(2048).optional(),
      port: z.number().int().min(0).max(65535).optional(),
      endpoint: z.string().max(2048).optional(),
      forwardedProto: z.string().max(16).optional(),
    })
    .strict()
    .optional()
    .describe(ignored('the operator manages clients on its own server, or the one spec.server names (with credentials)')),
  jwksUri: z.string().max(2048).optional().describe(ignored('Gatehouse has no private_key_jwt client authentication')),
  requestObjectSigningAlg: z.string().max(64).optional().describe(ignored('Gatehouse does not accept request objects')),
  requestUris: z.array(z.string().max(2048)).max(100).optional().describe(ignored('Gatehouse does not accept request objects')),
  sectorIdentifierUri: z.string().max(2048).optional().describe(ignored('Gatehouse issues public subject identifiers only')),
  skipLogoutConsent: z.boolean().optional().describe(noLogout),
  subjectType: z.string().max(64).optional().describe(ignored('Gatehouse issues public subject identifiers only')),
  tokenEndpointAuthSigningAlg: z.string().max(64).optional().describe(ignored('Gatehouse has no private_key_jwt client authentication')),
  userinfoSignedResponseAlg: z.string().max(64).optional().describe(ignored('userinfo answers in JSON, never signed')),
};

type IgnoredField = keyof typeof hydraIgnoredFields;

/** What counts as "set": a value other than hydra-maester's defaults (false, empty, 0), which change nothing. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(isSet);
  return true;
}

/** The hydra-maester fields a spec sets that have no effect here, in a stable order, for the SpecWarnings condition. */
export function ignoredHydraFields(
  spec: Partial<Record<IgnoredField, unknown>> & { tokenLifespans?: { jwt_bearer_grant_access_token_lifespan?: string } },
): string[] {
  const fields: string[] = (Object.keys(hydraIgnoredFields) as IgnoredField[]).filter((field) => isSet(spec[field]));
  if (spec.tokenLifespans?.jwt_bearer_grant_access_token_lifespan) fields.push('tokenLifespans.jwt_bearer_grant_access_token_lifespan');
  return fields;
}
