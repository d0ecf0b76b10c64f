import { z } from 'zod';
import { durationSetting } from './duration.js';
import { policySchema } from '../server/policy/schema.js';

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
    CHALLENGE_TOKEN_LIFESPAN: durationSetting('10m'),
    FORCE_ROOT_CLIENT_CREDENTIALS: z
      .string()
      .regex(/^[^:]+:.{32,}$/, 'must be <id>:<secret> with a secret of at least 32 characters')
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
    CREDENTIAL_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
    POLICIES: z.array(policySchema).default([]),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export const configKeys = Object.keys(configSchema.shape) as (keyof typeof configSchema.shape)[];
