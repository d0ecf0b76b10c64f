// The client fields Hydra has beyond the registration metadata: which audiences its tokens may name, which browser
// origins may call the token endpoint for it, whether consent is asked, and how long its tokens live. Same JSON
// names as Hydra's, so Hydra's clients (and tools written for them) read and write them unchanged.
import { z } from 'zod';
import { DURATION, formatMs, parseDuration } from './duration.js';

/** The nine per-client lifespans, Hydra's names: which grant issues the token, and which token it is. */
export const LIFESPAN_FIELDS = [
  'authorization_code_grant_access_token_lifespan',
  'authorization_code_grant_id_token_lifespan',
  'authorization_code_grant_refresh_token_lifespan',
  'client_credentials_grant_access_token_lifespan',
  'implicit_grant_access_token_lifespan',
  'implicit_grant_id_token_lifespan',
  'refresh_token_grant_access_token_lifespan',
  'refresh_token_grant_id_token_lifespan',
  'refresh_token_grant_refresh_token_lifespan',
] as const;
export type LifespanField = (typeof LIFESPAN_FIELDS)[number];

export const MIN_CLIENT_LIFESPAN_MS = 1000;
/** A year: longer-lived tokens are a credential nobody remembers to rotate. */
export const MAX_CLIENT_LIFESPAN_MS = 8760 * 3_600_000;

// Whitespace separates audiences in the token request's `audience` parameter; control characters have no business in
// an identifier that lands in logs and introspection responses.
const AUDIENCE_BREAKERS = /[\s\p{Cc}]/u;
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function audienceProblem(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  if (AUDIENCE_BREAKERS.test(value)) return 'must not contain spaces or control characters (the audience parameter is space-separated)';
  if (HAS_SCHEME.test(value) && !URL.canParse(value)) return 'looks like a URI (it has a scheme) but is not a valid absolute URI';
  return undefined;
}

// What a browser sends as Origin: scheme://host[:port], lower case, no default port, nothing after the authority.
const ORIGIN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#@\s\\]+)$/;

function originProblem(value: string): string | undefined {
  if (value === '*') return 'a wildcard is not allowed here: list each origin (CORS_ALLOWED_ORIGINS can allow any)';
  const match = ORIGIN.exec(value);
  if (!match || !URL.canParse(value)) return 'must be an origin, scheme://host[:port], without path, query or fragment';
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    // Browsers send the serialized origin and the match is exact, so any other spelling would never match.
    const serialized = new URL(value).origin;
    return serialized === value ? undefined : `must be written as browsers send it: ${serialized}`;
  }
  // capacitor://localhost, chrome-extension://<id>: origins of other schemes are sent lower case too.
  return value === value.toLowerCase() ? undefined : `must be written as browsers send it: ${value.toLowerCase()}`;
}

const checked = (problem: (value: string) => string | undefined) =>
  z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      const found = problem(value);
      if (found) ctx.addIssue({ code: 'custom', message: found });
    });

const lifespan = (maxMs: number, field: LifespanField) =>
  z
    .string()
    .max(64)
    .regex(DURATION, 'must be a duration such as 1h, 30m or 90s')
    .superRefine((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) return;
      if (ms < MIN_CLIENT_LIFESPAN_MS) ctx.addIssue({ code: 'custom', message: `must be at least ${formatMs(MIN_CLIENT_LIFESPAN_MS)}` });
      else if (ms > maxMs)
        ctx.addIssue({
          code: 'custom',
          message: `must be at most ${formatMs(maxMs)}${isIdToken(field) && maxMs < MAX_CLIENT_LIFESPAN_MS ? ID_TOKEN_CEILING : ''}`,
        });
    })
    .nullable()
    .default(null)
    .describe(lifespanDescription(field));

const isIdToken = (field: LifespanField) => field.includes('_id_token_');

const ID_TOKEN_CEILING =
  ': an ID token must expire before its signing key, once retired, stops being published (the longer of ID_TOKEN_LIFESPAN and ACCESS_TOKEN_LIFESPAN)';

const TOKENS: Record<string, { name: string; setting: string }> = {
  access_token: { name: 'an access token', setting: 'ACCESS_TOKEN_LIFESPAN' },
  id_token: { name: 'an ID token', setting: 'ID_TOKEN_LIFESPAN' },
  refresh_token: { name: 'a refresh token', setting: 'REFRESH_TOKEN_LIFESPAN' },
};

/** Which token, issued by what, from Hydra's field name. */
function lifespanDescription(field: LifespanField): string {
  const [, grant, kind] = /^(.+)_grant_(access_token|id_token|refresh_token)_lifespan$/.exec(field)!;
  const token = TOKENS[kind!]!;
  const by = grant === 'implicit' ? 'the authorization endpoint (implicit and hybrid flows)' : `the ${grant} grant`;
  const most = isIdToken(field) ? 'the longer of ID_TOKEN_LIFESPAN and ACCESS_TOKEN_LIFESPAN, how long a retired signing key stays published' : '8760h';
  return `How long ${token.name} issued to this client by ${by} lives: a duration such as 1h or 90s, at least 1s and at most ${most}; null (the default): ${token.setting}`;
}

/**
 * The fields' input schemas. `maxIdTokenLifespanMs`: how long the server publishes a retired signing key, which an ID
 * token must not outlive (MAX_CLIENT_LIFESPAN_MS when not known, as in the OpenAPI document).
 */
export function clientSettingsInputShape(maxIdTokenLifespanMs = MAX_CLIENT_LIFESPAN_MS) {
  const lifespans = Object.fromEntries(
    LIFESPAN_FIELDS.map((field) => [
      field,
      lifespan(isIdToken(field) ? Math.min(maxIdTokenLifespanMs, MAX_CLIENT_LIFESPAN_MS) : MAX_CLIENT_LIFESPAN_MS, field),
    ]),
  ) as Record<LifespanField, ReturnType<typeof lifespan>>;
  return {
    audience: z
      .array(checked(audienceProblem))
      .max(100)
      .default([])
      .describe(
        "The audiences the client may request for its access tokens (the token endpoint's space-separated audience parameter); absolute URIs or plain identifiers. A URI also covers the paths under it, as in Hydra",
      ),
    allowed_cors_origins: z
      .array(checked(originProblem))
      .max(100)
      .default([])
      .describe(
        'Origins (scheme://host[:port]) whose browser requests to the public OAuth 2.0 endpoints (discovery, JWKS, token, revocation, userinfo) are allowed, beside CORS_ALLOWED_ORIGINS; only while CORS_ENABLED is true, as in Hydra',
      ),
    skip_consent: z
      .boolean()
      .default(false)
      .describe('The consent requests of this client say skip: true, so the consent app may accept them without asking the user'),
    ...lifespans,
  };
}

/** The fields as every client response carries them. */
export const clientSettingsOutputShape = {
  audience: z.array(z.string()),
  allowed_cors_origins: z.array(z.string()),
  skip_consent: z.boolean(),
  ...(Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, z.string().nullable()])) as Record<LifespanField, z.ZodNullable<z.ZodString>>),
};
