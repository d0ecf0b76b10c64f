// The wire contract of the consent API (Hydra v0.11's OAuth2ConsentRequest, ConsentRequestAcceptance and
// ConsentRequestRejection): the server validates and answers these, the SDK and the consent apps use them.
import { z } from 'zod';
import { NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_RULE, NO_NUL } from './text.js';

/** What the consent app reads: who asks for what, until when, and where to send the browser once decided. */
export const consentRequestSchema = z.object({
  id: z.string(),
  requestedScopes: z.array(z.string()),
  clientId: z.string(),
  expiresAt: z.string(),
  redirectUrl: z.string(),
  skip: z.boolean().describe("Hydra's name: the client is registered with skip_consent, so the consent app may accept at once, without asking the user"),
});
export type ConsentRequest = z.output<typeof consentRequestSchema>;

// Claims an ID token gets from the server: idTokenExtra may add claims, never replace these.
export const RESERVED_ID_TOKEN_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'auth_time',
  'rat',
  'nonce',
  'at_hash',
  'c_hash',
  'azp',
  'jti',
  'acr',
  'amr',
];

const extraClaims = z.record(z.string(), z.unknown()).default({});
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export const consentAcceptanceSchema = z
  .object({
    subject: z.string().min(1, 'must name the user who consented').max(255).regex(NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_RULE),
    // Ours: when the user signed in, for the ID token's auth_time (without it, the time of this acceptance).
    authTime: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional(),
    grantScopes: z.array(z.string().regex(SCOPE_TOKEN, 'must be a scope token')).max(100).default([]),
    accessTokenExtra: extraClaims,
    idTokenExtra: extraClaims.superRefine((claims, ctx) => {
      const reserved = Object.keys(claims).filter((claim) => RESERVED_ID_TOKEN_CLAIMS.includes(claim));
      if (reserved.length) ctx.addIssue({ code: 'custom', message: `must not set the claims the server sets: ${reserved.join(', ')}` });
    }),
  })
  .strict();
export type ConsentAcceptance = z.output<typeof consentAcceptanceSchema>;
export type ConsentAcceptanceInput = z.input<typeof consentAcceptanceSchema>;

export const consentRejectionSchema = z.object({ reason: z.string().max(1000).regex(NO_NUL, 'must not contain a NUL character').default('') }).strict();
export type ConsentRejection = z.output<typeof consentRejectionSchema>;
export type ConsentRejectionInput = z.input<typeof consentRejectionSchema>;
