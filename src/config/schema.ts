import { isIP } from 'node:net';
import { z } from 'zod';
import { CLIENT_ID, CLIENT_ID_RULE } from '../contract/client.js';
import { durationOrOffSetting, durationSetting } from './duration.js';
import { policySchema } from './policy.js';

const booleanText = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

const listText = z.union([z.array(z.string()), z.string()]).transform((v) =>
  Array.isArray(v)
    ? v
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
);

const absoluteUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

/**
 * One schema for every setting. Keys are the environment variable names of the spec, so an error can name the
 * variable a person actually set; the YAML file (--config) uses the same keys.
 */
export const configSchema = z
  .object({
    DATABASE_URL: z
      .string()
      .default('sqlite://.data/gatehouse.sqlite')
      .refine((v) => v === 'memory' || v.startsWith('sqlite://') || /^postgres(ql)?:\/\//.test(v), 'must be memory, sqlite://<path> or postgres://…'),
    // Several secrets, comma-separated, while it is rotated: the first protects new values, all of them verify.
    SYSTEM_SECRET: z
      .string()
      .superRefine((value, ctx) => {
        const secrets = value.split(',').map((secret) => secret.trim());
        const short = secrets.map((secret, index) => (secret.length < 16 ? index + 1 : 0)).filter(Boolean);
        if (!short.length) return;
        const message =
          secrets.length === 1
            ? 'must be at least 16 characters'
            : `each of its comma-separated secrets must be at least 16 characters; number ${short.join(', ')} of ${secrets.length} is not`;
        ctx.addIssue({ code: 'custom', message });
      })
      .optional(),
    COOKIE_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    ISSUER: absoluteUrl.default('http://localhost:4444'),
    CONSENT_URL: absoluteUrl.default('http://localhost:3000/consent'),
    PORT: z.coerce.number().int().min(0).max(65535).default(4444),
    HOST: z.string().min(1).default('0.0.0.0'),
    ACCESS_TOKEN_LIFESPAN: durationSetting('1h'),
    ID_TOKEN_LIFESPAN: durationSetting('1h'),
    AUTH_CODE_LIFESPAN: durationSetting('10m'),
    // Ours (Hydra v0.11 had no limit): a refresh token unused this long stops working; each refresh starts it anew.
    REFRESH_TOKEN_LIFESPAN: durationSetting('720h'),
    CHALLENGE_TOKEN_LIFESPAN: durationSetting('10m'),
    FORCE_ROOT_CLIENT_CREDENTIALS: z
      .string()
      .regex(/^[^:]+:.{32,}$/, 'must be <id>:<secret> with a secret of at least 32 characters')
      .refine((value) => CLIENT_ID.test(value.slice(0, value.indexOf(':'))), `the id before the colon ${CLIENT_ID_RULE}`)
      .optional(),
    RESOURCE_NAME_PREFIX: z.string().min(1).default('rn:hydra'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['json', 'text']).default('json'),
    CORS_ENABLED: booleanText.default(false),
    CORS_ALLOWED_ORIGINS: listText.default([]),
    CORS_ALLOWED_METHODS: listText.default(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    CORS_ALLOWED_HEADERS: listText.default(['Authorization', 'Content-Type']),
    CORS_EXPOSED_HEADERS: listText.default(['Link', 'X-Total-Count', 'Location', 'X-Request-ID']),
    CORS_ALLOW_CREDENTIALS: booleanText.default(false),
    CORS_MAX_AGE: z.coerce.number().int().min(0).default(0),
    BODY_LIMIT: z.coerce
      .number()
      .int()
      .min(1024)
      .max(10 * 1024 * 1024)
      .default(64 * 1024),
    // Node has no timer for the body alone: REQUEST_TIMEOUT bounds request line, headers and body together, so a
    // client trickling its body cannot hold a connection open.
    REQUEST_TIMEOUT: durationSetting('30s'),
    HEADERS_TIMEOUT: durationSetting('10s'),
    KEEP_ALIVE_TIMEOUT: durationSetting('72s'),
    MAX_CONNECTIONS: z.coerce.number().int().min(1).default(10_000),
    CREDENTIAL_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
    // Failed client authentications allowed per client id and per source address before 429; 0 turns the limit off.
    AUTH_FAILURE_BURST: z.coerce.number().int().min(0).default(10),
    // The same per source address, higher: many clients may share one (a NAT, a proxy, a cluster's egress).
    AUTH_FAILURE_ADDRESS_BURST: z.coerce.number().int().min(1).default(100),
    // How long a 429 of a throttled authentication is held before it is sent (never past its Retry-After); "off": at once.
    AUTH_FAILURE_DELAY: durationOrOffSetting('1s', { max: 60_000 }),
    // Expired tokens are deleted inside the server every JANITOR_INTERVAL ("off": only by POST /oauth2/flush), once
    // they have been expired for JANITOR_RETENTION, JANITOR_BATCH_SIZE rows per statement.
    JANITOR_INTERVAL: durationOrOffSetting('10m', { min: 100, max: 24 * 3_600_000 }),
    JANITOR_RETENTION: durationSetting('1h'),
    JANITOR_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
    // After a busy spell, a memory-reducing garbage collection once no request has come for IDLE_GC_AFTER ("off":
    // leave it to V8). Needs --expose-gc, which the launcher gives `gatehouse serve`.
    IDLE_GC_AFTER: durationOrOffSetting('1s', { min: 100, max: 3_600_000 }),
    // Which proxies' X-Forwarded-For to believe for the caller's address: false (none), true (any: only when every
    // request comes through one), a number of hops, or comma-separated addresses/CIDRs of the proxies.
    TRUST_PROXY: z
      .string()
      .default('false')
      .transform((value): boolean | number | string[] => {
        const text = value.trim();
        if (text === 'false' || text === '') return false;
        if (text === 'true') return true;
        if (/^\d+$/.test(text)) return Number(text);
        return text
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean);
      })
      .superRefine((value, ctx) => {
        if (!Array.isArray(value)) return;
        const invalid = value.filter((entry) => !isProxyAddress(entry));
        if (invalid.length)
          ctx.addIssue({
            code: 'custom',
            message: `${invalid.join(', ')}: each entry must be an IP address, a CIDR range (10.0.0.0/8), loopback, linklocal or uniquelocal; or the whole value true, false or a number of hops`,
          });
      }),
    // How many failures are forgiven per second, per client id and per address.
    AUTH_FAILURE_RATE: z.coerce.number().positive().default(1),
    // Consent requests one source address may start at /oauth2/auth (each is stored until it expires) in a burst, and
    // per second after it; beyond them the browser goes back to the client with temporarily_unavailable. 0: no limit.
    AUTHORIZE_ADDRESS_BURST: z.coerce.number().int().min(0).default(300),
    AUTHORIZE_ADDRESS_RATE: z.coerce.number().positive().default(30),
    // Plain http redirect URIs to hosts other than loopback ones, for development setups without TLS.
    ALLOW_HTTP_REDIRECT_URIS: booleanText.default(false),
    POLICIES: z.array(policySchema).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Node refuses to create a server whose header timer outlasts its request timer.
    if (config.HEADERS_TIMEOUT > config.REQUEST_TIMEOUT) {
      ctx.addIssue({ code: 'custom', path: ['HEADERS_TIMEOUT'], message: 'must not be longer than REQUEST_TIMEOUT' });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export const configKeys = Object.keys(configSchema.shape) as (keyof typeof configSchema.shape)[];

/** What proxy-addr (Fastify's trustProxy) accepts as one entry: an address, a CIDR range, or one of its names. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  // A prefix length, or (IPv4) a netmask such as 255.0.0.0.
  if (/^\d{1,3}$/.test(bits)) return Number(bits) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(bits) === 4;
}
