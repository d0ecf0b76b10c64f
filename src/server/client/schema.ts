import { z } from 'zod';
import type { OAuth2Client as WireClient } from '../../sdk/types.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'implicit'] as const;
// Every combination OpenID Connect registers, written in the canonical order clients send them.
export const RESPONSE_TYPES = ['code', 'token', 'id_token', 'code id_token', 'code token', 'id_token token', 'code id_token token'] as const;

export const CLIENT_ID = /^[A-Za-z0-9._~:@+-]{1,255}$/;
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;
export const MIN_SECRET_LENGTH = 32;

const optionalUrl = z
  .string()
  .max(2048)
  .refine((value) => value === '' || isAbsoluteUrl(value), 'must be an absolute URL')
  .default('');

const redirectUri = z
  .string()
  .max(2048)
  .refine(isAbsoluteUrl, 'must be an absolute URI')
  .refine((value) => !value.includes('#'), 'must not contain a fragment');

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

/** The body of POST and PUT /clients. Unknown fields are refused, so a typo never silently does nothing. */
export const clientInputSchema = z
  .object({
    id: z.string().regex(CLIENT_ID, 'must be 1 to 255 characters of A-Z a-z 0-9 . _ ~ : @ + -').optional(),
    client_name: z.string().max(255).default(''),
    client_secret: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).max(512, 'must be at most 512 characters').optional(),
    redirect_uris: z.array(redirectUri).max(100).default([]),
    grant_types: z
      .array(z.enum(GRANT_TYPES, { message: `must be one of: ${GRANT_TYPES.join(', ')}` }))
      .max(10)
      .default([]),
    response_types: z.array(normalizedResponseType).max(10).default([]),
    scope: z
      .string()
      .max(4096)
      .refine((value) => value === '' || SCOPE.test(value), 'must be scope tokens separated by single spaces')
      .default(''),
    owner: z.string().max(255).default(''),
    policy_uri: optionalUrl,
    tos_uri: optionalUrl,
    client_uri: optionalUrl,
    logo_uri: optionalUrl,
    contacts: z.array(z.string().max(255)).max(50).default([]),
    public: z.boolean().default(false),
  })
  .strict()
  .superRefine((client, ctx) => {
    if (client.public && client.client_secret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: 'a public client has no secret' });
    }
    if (client.public && client.grant_types.includes('client_credentials')) {
      ctx.addIssue({ code: 'custom', path: ['grant_types'], message: 'client_credentials needs a confidential client (public: false)' });
    }
  })
  .transform((client) => ({
    ...client,
    grant_types: client.grant_types.length ? unique(client.grant_types) : ['authorization_code' as const],
    response_types: client.response_types.length ? unique(client.response_types) : ['code' as const],
    redirect_uris: unique(client.redirect_uris),
  }));

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

export type ClientInput = z.output<typeof clientInputSchema>;

/** A client as stored and returned, without any secret: the SDK's wire type is the one definition of the shape. */
export type OAuth2Client = Omit<WireClient, 'client_secret'>;

export const listQuerySchema = z
  .object({
    limit: z.coerce
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .default(100)
      .transform((n) => Math.min(n, 500)),
    offset: z.coerce.number().int('must be a whole number').min(0, 'must not be negative').default(0),
  })
  .strict();
