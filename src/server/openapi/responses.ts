import type { ResponseDoc } from './declare.js';

// The answers many operations share, in the words of the OpenAPI document.

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const content = (schema: object) => ({ 'application/json': { schema } });
export const form = (properties: Record<string, object>, required: string[]) => ({
  'application/x-www-form-urlencoded': { schema: { type: 'object', properties, required } },
});
export const stringParameters = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, { type: 'string' }]));

export const apiError = (description: string): ResponseDoc => ({ description, content: content(ref('ApiError')) });
export const oauthError: ResponseDoc = { description: 'RFC 6749 error', content: content(ref('OAuth2Error')) };
export const throttled: ResponseDoc = {
  description: 'too many failed client authentications for the client id or the source address (Retry-After says when to try again)',
  headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 } } },
  content: content(ref('OAuth2Error')),
};
export const management = { 401: apiError('missing or invalid bearer token'), 403: apiError('scope or policy does not allow the call') };
export const bearer = [{ bearer: [] }];
/** What every operation taking a JSON body can answer about the body itself, before the operation looks at it. */
export const jsonBodyErrors = {
  400: apiError('the body is not valid JSON, or not a valid document for this operation'),
  413: apiError('the body is larger than BODY_LIMIT'),
  415: apiError('the body is not application/json'),
};
/** The same for the form-taking OAuth 2.0 endpoints, in the OAuth 2.0 error format (a body that is not a form is a 400 there). */
export const formBodyErrors = { 400: oauthError, 413: { description: 'the body is larger than BODY_LIMIT', content: content(ref('OAuth2Error')) } };

/** The error bodies the shared answers refer to. */
export const errorComponents = {
  ApiError: {
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: {
          code: { type: 'integer' },
          status: { type: 'string' },
          request: { type: 'string' },
          reason: { type: 'string' },
          details: { type: 'array', items: { type: 'object' } },
          message: { type: 'string' },
        },
      },
    },
  },
  OAuth2Error: {
    type: 'object',
    properties: { error: { type: 'string' }, error_description: { type: 'string' }, error_hint: { type: 'string' }, status_code: { type: 'integer' } },
    required: ['error'],
  },
};
