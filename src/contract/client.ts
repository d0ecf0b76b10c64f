// The wire contract of the client endpoints: what the server validates and answers, what the SDK sends and reads,
// what the operator's CRD must stay compatible with, and what the OpenAPI document says. Nothing here imports the
// server, the SDK or the operator; they all import this.
import { z } from 'zod';
import { clientSettingsInputShape, clientSettingsOutputShape } from './client-settings.js';
import { NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_RULE } from './text.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'implicit'] as const;
// Every combination OpenID Connect registers, written in the canonical order clients send them.
export const RESPONSE_TYPES = ['code', 'token', 'id_token', 'code id_token', 'code token', 'id_token token', 'code id_token token'] as const;

// 1 to 255 unreserved characters (plus : @ +), but never "." or "..": as a path segment, URL parsers (WHATWG, so
// fetch and undici) resolve those as dot segments, so /clients/.. could never reach the client. Written without
// lookahead so that the same pattern also holds in the CRD, where Kubernetes checks it with RE2.
export const CLIENT_ID = /^(?:[A-Za-z0-9_~:@+-][A-Za-z0-9._~:@+-]{0,254}|\.[A-Za-z0-9_~:@+-][A-Za-z0-9._~:@+-]{0,253}|\.\.[A-Za-z0-9._~:@+-]{1,253})$/;
export const CLIENT_ID_RULE = 'must be 1 to 255 characters of A-Z a-z 0-9 . _ ~ : @ + -, and not "." or ".."';
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces; or no scope at all. A
// pattern rather than a check in code, so that the OpenAPI document carries it.
const SCOPE_OR_NONE = /^(?:[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*)?$/;
/**
 * The shortest client secret a caller may choose. Secrets the server mints are 43 characters; a chosen one is stored
 * under scrypt and guessing it online is throttled, so the floor only keeps out the trivially guessable. 16, not
 * more: Secrets hydra-maester users already hold (its own samples have 19 characters; Hydra accepts 6) must move over
 * unchanged (docs/decisions.md).
 */
export const MIN_SECRET_LENGTH = 16;
/** The longest grace period of a rotated secret: 30 days. */
export const MAX_SECRET_GRACE_SECONDS = 30 * 24 * 3600;

const secretText = z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).max(512, 'must be at most 512 characters');

/** A name, owner or contact: one line of text. */
const plainText = (max: number) => z.string().max(max).regex(NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_RULE);

const optionalUrl = z
  .string()
  .max(2048)
  .regex(NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_RULE)
  .refine((value) => value === '' || isAbsoluteUrl(value), 'must be an absolute URL')
  .default('');

/** What the server settings change about the client body. */
export interface ClientInputOptions {
  /** ALLOW_HTTP_REDIRECT_URIS: plain http redirect URIs to any host, not only to loopback ones. */
  allowHttpRedirectUris: boolean;
  /**
   * Redirect URIs the client already has (on an update): kept although they break the http-only-for-loopback and
   * private-use rules, which came later, so a client registered before them (say, by the operator) can still be
   * updated. Schemes a browser would run are refused whatever was stored.
   */
  alreadyStored?: readonly string[];
  /** How long the server publishes a retired signing key: no ID-token lifespan of a client may exceed it. */
  maxIdTokenLifespanMs?: number;
}

// Schemes a browser would run or read locally rather than navigate to: as a redirect target they turn the
// authorization response into script execution or local file access.
const NEVER_REDIRECT_SCHEMES = new Set(['javascript', 'data', 'vbscript', 'file']);
const PRIVATE_USE_RULE = 'a private-use scheme (RFC 8252 §7.1) is only for a public client (public: true)';

function redirectUri(options: ClientInputOptions) {
  return z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      const problem = redirectUriProblem(value, options);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** Why a redirect URI is refused whoever the client is, or undefined; private-use schemes are checked with the client. */
function redirectUriProblem(value: string, options: ClientInputOptions): string | undefined {
  // URL parsers drop tabs and newlines, so "java\tscript:" would otherwise reach a browser as javascript:.
  if (/[\s\p{Cc}]/u.test(value)) return 'must not contain spaces or control characters';
  if (!isAbsoluteUrl(value)) return 'must be an absolute URI';
  // RFC 6749 §3.1.2: the redirection endpoint URI must not include a fragment component.
  if (value.includes('#')) return 'must not contain a fragment';
  const scheme = schemeOf(value);
  if (NEVER_REDIRECT_SCHEMES.has(scheme)) return `must not use the ${scheme}: scheme`;
  if (options.alreadyStored?.includes(value)) return undefined;
  if (scheme === 'https' || scheme === 'http') {
    if (!/^https?:\/\/[^/?]/i.test(value)) return `must be ${scheme}://host/…`;
    if (scheme === 'https' || options.allowHttpRedirectUris || isLoopback(new URL(value).hostname)) return undefined;
    return 'must use https; http is only for loopback hosts (localhost, 127.0.0.0/8, [::1]) unless the server sets ALLOW_HTTP_REDIRECT_URIS';
  }
  if (!isPrivateUseScheme(scheme)) {
    return 'must use https, http on a loopback host, or a private-use scheme in reverse-domain form such as com.example.app:/callback';
  }
  return undefined;
}

const schemeOf = (uri: string) => uri.slice(0, uri.indexOf(':')).toLowerCase();

// RFC 8252 §7.1: a private-use scheme is a reverse domain name the app controls, so it has a dot; without one
// (myapp:) any app could register it and receive the code.
const isPrivateUseScheme = (scheme: string) => scheme !== 'http' && scheme !== 'https' && scheme.includes('.');

// The URL parser has already normalised the host: 127.1 and 0x7f.1 arrive as 127.0.0.1, IPv6 in brackets.
export const isLoopback = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);

function isAbsoluteUrl(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

const normalizedResponseType = z
  .string()
  .transform((value) => value.trim().split(/\s+/).sort(byCanonicalOrder).join(' '))
  .pipe(z.enum(RESPONSE_TYPES, { message: `must be one of: ${RESPONSE_TYPES.join(', ')}` }));

function byCanonicalOrder(a: string, b: string): number {
  const order = ['code', 'id_token', 'token'];
  return order.indexOf(a) - order.indexOf(b);
}

/**
 * The body of POST and PUT /clients under the given server settings. Unknown fields are refused, so a typo never
 * silently does nothing.
 */
export function clientInputSchemaFor(options: ClientInputOptions) {
  return z
    .object({
      id: z.string().regex(CLIENT_ID, CLIENT_ID_RULE).optional(),
      client_name: plainText(255).default(''),
      client_secret: secretText.optional(),
      client_secret_grace_period: z
        .number({ error: 'must be a number of seconds' })
        .int('must be a whole number of seconds')
        .min(1, 'must be at least 1 second')
        .max(MAX_SECRET_GRACE_SECONDS, `must be at most ${MAX_SECRET_GRACE_SECONDS} seconds (30 days)`)
        .optional()
        .describe(
          'Gatehouse extension. With a new client_secret: the secret it replaces stays valid for this many seconds (a rotation without downtime); without it the replaced secret is invalid at once',
        ),
      previous_client_secret: secretText
        .optional()
        .describe(
          'Gatehouse extension, with client_secret_grace_period: the secret that stays valid during the grace period instead of the one stored (to finish a rotation whose new secret was lost, or to register a client mid-rotation)',
        ),
      redirect_uris: z
        .array(redirectUri(options))
        .max(100)
        .default([])
        .describe(
          'https, or http to a loopback host (any host with ALLOW_HTTP_REDIRECT_URIS); a private-use scheme in reverse-domain form (com.example.app:/callback) for a public client; never a fragment',
        ),
      grant_types: z
        .array(z.enum(GRANT_TYPES, { message: `must be one of: ${GRANT_TYPES.join(', ')}` }))
        .max(10)
        .default([]),
      response_types: z.array(normalizedResponseType).max(10).default([]),
      scope: z.string().max(4096).regex(SCOPE_OR_NONE, 'must be scope tokens separated by single spaces').default(''),
      owner: plainText(255).default(''),
      policy_uri: optionalUrl,
      tos_uri: optionalUrl,
      client_uri: optionalUrl,
      logo_uri: optionalUrl,
      contacts: z.array(plainText(255)).max(50).default([]),
      public: z.boolean().default(false),
      post_logout_redirect_uris: z
        .array(redirectUri(options))
        .max(100)
        .default([])
        .describe(
          'Where the client may send the browser after logout (OpenID Connect RP-Initiated Logout); the rules of redirect_uris. Stored and returned: the server has no logout endpoint yet',
        ),
      ...clientSettingsInputShape(options.maxIdTokenLifespanMs),
    })
    .strict()
    .superRefine((client, ctx) => {
      if (client.public && client.client_secret !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['client_secret'], message: 'a public client has no secret' });
      }
      if (client.client_secret_grace_period !== undefined && client.client_secret === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['client_secret_grace_period'],
          message: 'needs a new client_secret: it is how long the replaced one stays valid',
        });
      }
      if (client.previous_client_secret !== undefined && client.client_secret_grace_period === undefined) {
        ctx.addIssue({ code: 'custom', path: ['previous_client_secret'], message: 'needs client_secret_grace_period: how long it stays valid' });
      }
      if (client.previous_client_secret !== undefined && client.previous_client_secret === client.client_secret) {
        ctx.addIssue({ code: 'custom', path: ['previous_client_secret'], message: 'must differ from client_secret' });
      }
      if (client.public && client.grant_types.includes('client_credentials')) {
        ctx.addIssue({ code: 'custom', path: ['grant_types'], message: 'client_credentials needs a confidential client (public: false)' });
      }
      // Private-use schemes are how native apps receive the response, and RFC 8252 §8.4 makes those public clients; a
      // confidential client runs on a server and has no use for a scheme that any installed app can claim.
      if (!client.public) {
        for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
          client[field].forEach((uri, index) => {
            if (isPrivateUseScheme(schemeOf(uri)) && !options.alreadyStored?.includes(uri))
              ctx.addIssue({ code: 'custom', path: [field, index], message: PRIVATE_USE_RULE });
          });
        }
      }
    })
    .transform((client) => ({
      ...client,
      grant_types: client.grant_types.length ? unique(client.grant_types) : ['authorization_code' as const],
      response_types: client.response_types.length ? unique(client.response_types) : ['code' as const],
      redirect_uris: unique(client.redirect_uris),
      post_logout_redirect_uris: unique(client.post_logout_redirect_uris),
      audience: unique(client.audience),
      allowed_cors_origins: unique(client.allowed_cors_origins),
    }));
}

/** The body under the default settings: what documentation, bootstrap and tools validate against. */
export const clientInputSchema = clientInputSchemaFor({ allowHttpRedirectUris: false });

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

export type ClientInput = z.output<typeof clientInputSchema>;

/** The Gatehouse extension of the client body for rotating a secret with a grace period (clientInputSchemaFor). */
export interface SecretRotationInput {
  client_secret_grace_period?: number;
  previous_client_secret?: string;
}

/**
 * A client as every response carries it, id first. Responses are cut to these fields (OAUTH2_CLIENT_FIELDS), so
 * nothing else the server holds about a client (its secret's hash, timestamps) can reach the wire.
 */
export const oauth2ClientSchema = z.object({
  id: z.string(),
  client_name: z.string(),
  redirect_uris: z.array(z.string()),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  scope: z.string(),
  owner: z.string(),
  policy_uri: z.string(),
  tos_uri: z.string(),
  client_uri: z.string(),
  logo_uri: z.string(),
  contacts: z.array(z.string()),
  public: z.boolean(),
  post_logout_redirect_uris: z.array(z.string()),
  ...clientSettingsOutputShape,
  previous_client_secret_expires_at: z
    .number()
    .int()
    .optional()
    .describe('Gatehouse extension: while the secret replaced by a rotation with a grace period is still valid, when it stops being (seconds since the epoch)'),
});

export type OAuth2Client = z.output<typeof oauth2ClientSchema>;

export const OAUTH2_CLIENT_FIELDS = Object.keys(oauth2ClientSchema.shape) as (keyof OAuth2Client)[];

/** The create response, and an update's when a secret was supplied: the one time a secret is shown. */
export const oauth2ClientWithSecretSchema = oauth2ClientSchema.extend({
  client_secret: z.string().optional().describe('only in the create response, or the update response when a secret was supplied'),
});

export type OAuth2ClientWithSecret = z.output<typeof oauth2ClientWithSecretSchema>;

/**
 * What a caller sends to create or replace a client: any field may be left out (defaults are in clientInputSchemaFor).
 * The rotation fields are separate (SecretRotationInput): a client's description never includes them.
 */
export type OAuth2ClientInput = Partial<Omit<OAuth2ClientWithSecret, 'previous_client_secret_expires_at'>>;

/** Digits only: Number() would also read "", " 5", "1e3" and "0x10", which the document's integer does not allow. */
const queryInteger = (min: number, minMessage: string, fallback: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^-?[0-9]{1,16}$/.test(value) ? Number(value) : value),
    z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min, minMessage).default(fallback),
  );

export const listQuerySchema = z
  .object({
    limit: queryInteger(1, 'must be at least 1', 100).transform((n) => Math.min(n, 500)),
    offset: queryInteger(0, 'must not be negative', 0),
  })
  .strict();
