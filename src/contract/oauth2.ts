// The wire contract of the OAuth 2.0 endpoints that answer JSON: the server builds these, the SDK reads them, and the
// OpenAPI document is generated from them.
import { z } from 'zod';

/** The body of POST /oauth2/flush (Hydra's flush request), for the route and the OpenAPI document. */
export const flushSchema = z.object({ notAfter: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional() }).strict();
export type FlushRequest = z.output<typeof flushSchema>;

/** A successful token response (RFC 6749 §5.1). */
export const tokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int(),
  scope: z.string(),
  refresh_token: z.string().optional(),
  id_token: z.string().optional(),
});

export type TokenResponse = z.output<typeof tokenResponseSchema>;

/** An introspection response (RFC 7662 §2.2); an inactive token is `{"active": false}` and nothing else. */
export const introspectionSchema = z.object({
  active: z.boolean(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  sub: z.string().optional(),
  exp: z.number().int().optional(),
  iat: z.number().int().optional(),
  nbf: z.number().int().optional(),
  username: z.string().optional(),
  aud: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("The audiences granted with the token (the token request's audience parameter); the client's id when none was"),
  iss: z.string().optional(),
  ext: z.record(z.string(), z.unknown()).optional(),
  client_secret_used: z
    .enum(['current', 'previous'])
    .optional()
    .describe(
      'Gatehouse extension: which secret the client authenticated with when the token was issued; previous means a secret replaced by a rotation, still in its grace period',
    ),
});

export type Introspection = z.output<typeof introspectionSchema>;
