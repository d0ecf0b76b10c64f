import { z } from 'zod';
import { CLIENT_ID, clientInputSchema, listQuerySchema, oauth2ClientWithSecretSchema } from '../contract/client.js';
import { consentAcceptanceSchema, consentRejectionSchema, consentRequestSchema } from '../contract/consent.js';
import { flushSchema, introspectionSchema, tokenResponseSchema } from '../contract/oauth2.js';
import { responseJsonSchema } from '../contract/json-schema.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
// The document declares its dialect once; a $schema inside a component would repeat it.
const withoutDialect = ({ $schema: _dialect, ...schema }: Record<string, unknown>) => schema;
/** A response body as the server sends it (and serializes it: the routes declare the same schema). */
const answered = responseJsonSchema;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const content = (schema: object) => ({ 'application/json': { schema } });
const form = (properties: Record<string, object>, required: string[]) => ({
  'application/x-www-form-urlencoded': { schema: { type: 'object', properties, required } },
});

const oauthError = { description: 'RFC 6749 error', content: content(ref('OAuth2Error')) };
const throttled = {
  description: 'too many failed client authentications for the client id or the source address (Retry-After says when to try again)',
  headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 } } },
  content: content(ref('OAuth2Error')),
};
const apiError = (description: string) => ({ description, content: content(ref('ApiError')) });
const management = { 401: apiError('missing or invalid bearer token'), 403: apiError('scope or policy does not allow the call') };
/** What every operation taking a JSON body can answer about the body itself, before the operation looks at it. */
const jsonBodyErrors = {
  400: apiError('the body is not valid JSON, or not a valid document for this operation'),
  413: apiError('the body is larger than BODY_LIMIT'),
  415: apiError('the body is not application/json'),
};
/** The same for the form-taking OAuth 2.0 endpoints, in the OAuth 2.0 error format (a body that is not a form is a 400 there). */
const formBodyErrors = { 400: oauthError, 413: { description: 'the body is larger than BODY_LIMIT', content: content(ref('OAuth2Error')) } };
const badId = { 400: apiError('the id is not a valid client id (1 to 255 of A-Z a-z 0-9 . _ ~ : @ + -, not "." or "..")') };

const authorizationParameters: Record<string, object> = Object.fromEntries(
  [
    'client_id',
    'response_type',
    'redirect_uri',
    'scope',
    'state',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'response_mode',
    'consent',
    'consent_csrf',
  ].map((name) => [name, { type: 'string' }]),
);
const authorize = (where: 'query' | 'form') => ({
  summary:
    'The OAuth 2.0 authorization endpoint: the first visit redirects to CONSENT_URL with consent=<id> and sets a consent cookie; ' +
    'the consent app sends the browser back with consent and consent_csrf, and the second visit redirects to the client with a code, tokens or an error',
  ...(where === 'query'
    ? { parameters: Object.keys(authorizationParameters).map((name) => ({ name, in: 'query', required: name === 'client_id', schema: { type: 'string' } })) }
    : {}),
  responses: {
    302: { description: 'to the consent app, or back to the client (query for code, fragment when tokens are returned)' },
    400: { description: 'an HTML page: the client or its redirect URI is invalid, so there is nowhere safe to redirect to', content: { 'text/html': {} } },
    ...(where === 'form'
      ? {
          413: { description: 'the body is larger than BODY_LIMIT', content: { 'text/html': {} } },
          415: { description: 'the body is not a form', content: { 'text/html': {} } },
        }
      : {}),
  },
});
const consentIdParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const consentDecisionErrors = {
  ...jsonBodyErrors,
  400: apiError('the body is not valid JSON or not a valid decision (e.g. grantScopes beyond the requested scopes, reserved ID-token claims)'),
  404: apiError('unknown consent request'),
  409: apiError('the consent request was already accepted or rejected'),
  410: apiError('the consent request expired or was already used'),
  401: apiError('missing or invalid bearer token'),
  403: apiError('scope or policy does not allow the call'),
};
const userinfo = {
  summary: 'OpenID Connect userinfo: sub and the idTokenExtra claims of the consent, for an access token granted openid',
  security: [{ userToken: [] }],
  responses: {
    200: {
      description: 'the claims',
      content: content({ type: 'object', properties: { sub: { type: 'string' } }, required: ['sub'], additionalProperties: true }),
    },
    400: oauthError,
    401: oauthError,
    403: oauthError,
  },
};

/**
 * The OpenAPI document of the server, built from the same zod schemas the routes validate with. It is written to
 * docs/openapi.json by `npm run generate`; a unit test fails when that file is stale.
 */
export function openApiDocument() {
  const clientInput = withoutDialect(json(clientInputSchema));
  const listParameters = Object.entries((json(listQuerySchema) as { properties: Record<string, object> }).properties).map(([name, schema]) => ({
    name,
    in: 'query',
    schema,
  }));
  const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: CLIENT_ID.source } };
  const bearer = [{ bearer: [] }];

  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse',
      version: '0.1.0',
      description:
        'OAuth 2.0 / OpenID Connect server with the API of ORY Hydra v0.11. Before any operation is chosen, a request can ' +
        'also be answered 400 (not valid HTTP/1.1, or bytes outside printable ASCII in the target), 404 (no such path ' +
        'and method), 408 (not received within REQUEST_TIMEOUT / HEADERS_TIMEOUT), 414 (a path parameter longer than ' +
        '1,024 characters) or 431 (request line and headers larger than the server reads), each in the ApiError ' +
        "envelope; and 503 while the server shuts down (Fastify's own body) or once its database can no longer make " +
        'changes durable (the envelope of the operation).',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an access token of a client that a policy allows the management call' },
        basic: { type: 'http', scheme: 'basic' },
        userToken: { type: 'http', scheme: 'bearer', description: "an access token issued for a user's consent, granted openid" },
      },
      schemas: {
        OAuth2ClientInput: clientInput,
        OAuth2Client: answered(oauth2ClientWithSecretSchema),
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
        TokenResponse: answered(tokenResponseSchema),
        ConsentRequest: answered(consentRequestSchema),
        ConsentRequestAcceptance: withoutDialect(json(consentAcceptanceSchema)),
        ConsentRequestRejection: withoutDialect(json(consentRejectionSchema)),
        Introspection: answered(introspectionSchema),
      },
    },
    paths: {
      '/clients': {
        post: {
          operationId: 'createOAuth2Client',
          summary: 'Create an OAuth 2.0 client',
          security: bearer,
          requestBody: { required: true, content: content(ref('OAuth2ClientInput')) },
          responses: {
            201: { description: 'created; the secret is shown this once', content: content(ref('OAuth2Client')) },
            ...jsonBodyErrors,
            409: apiError('duplicate id'),
            ...management,
          },
        },
        get: {
          operationId: 'listOAuth2Clients',
          summary: 'List OAuth 2.0 clients, ordered by id (Link and X-Total-Count headers for paging)',
          security: bearer,
          parameters: listParameters,
          responses: {
            200: { description: 'a page of clients', content: content({ type: 'array', items: ref('OAuth2Client') }) },
            400: apiError('invalid paging'),
            ...management,
          },
        },
      },
      '/clients/secrets': {
        post: {
          operationId: 'mintOAuth2ClientSecret',
          summary:
            'Mint a client secret without storing it, for a client created later (needs scope hydra.clients and the create action on the clients resource). ' +
            'A minted secret is stored under a fast keyed hash when a client is created or updated with it; any other secret under scrypt.',
          security: bearer,
          responses: {
            200: {
              description: 'a fresh secret: gatehouse_cs_ followed by 256 random bits and a check value, base64url',
              content: content({
                type: 'object',
                properties: { client_secret: { type: 'string', pattern: '^gatehouse_cs_[A-Za-z0-9_-]{55}$' } },
                required: ['client_secret'],
              }),
            },
            // It takes no body, but one sent is still parsed first.
            ...jsonBodyErrors,
            ...management,
          },
        },
      },
      '/clients/{id}': {
        parameters: [idParameter],
        get: {
          operationId: 'getOAuth2Client',
          summary: 'Get an OAuth 2.0 client',
          security: bearer,
          responses: {
            200: { description: 'the client, never with a secret', content: content(ref('OAuth2Client')) },
            ...badId,
            404: apiError('unknown client'),
            ...management,
          },
        },
        put: {
          operationId: 'updateOAuth2Client',
          summary: 'Replace an OAuth 2.0 client; the secret changes only when one is supplied, and an id in the body must be the one in the path',
          security: bearer,
          requestBody: { required: true, content: content(ref('OAuth2ClientInput')) },
          responses: {
            200: { description: 'the updated client', content: content(ref('OAuth2Client')) },
            ...jsonBodyErrors,
            400: apiError('an invalid client id, or a body that is not valid JSON or not a valid client'),
            404: apiError('unknown client'),
            409: apiError('the update would leave no client able to manage clients'),
            ...management,
          },
        },
        delete: {
          operationId: 'deleteOAuth2Client',
          summary: 'Delete an OAuth 2.0 client and its tokens',
          security: bearer,
          responses: {
            204: { description: 'deleted' },
            ...jsonBodyErrors,
            400: apiError('an invalid client id, or a body sent along that is not valid JSON'),
            404: apiError('unknown client'),
            409: apiError('the last client able to manage clients'),
            ...management,
          },
        },
      },
      '/oauth2/token': {
        post: {
          operationId: 'oauth2Token',
          summary: 'The OAuth 2.0 token endpoint',
          security: [{ basic: [] }],
          requestBody: {
            required: true,
            content: form({ grant_type: { type: 'string' }, scope: { type: 'string' }, client_id: { type: 'string' }, client_secret: { type: 'string' } }, [
              'grant_type',
            ]),
          },
          responses: { 200: { description: 'a token', content: content(ref('TokenResponse')) }, ...formBodyErrors, 401: oauthError, 429: throttled },
        },
      },
      '/oauth2/introspect': {
        post: {
          operationId: 'introspectOAuth2Token',
          summary: 'Introspect an access token (RFC 7662)',
          security: [{ basic: [] }, { bearer: [] }],
          requestBody: { required: true, content: form({ token: { type: 'string' }, scope: { type: 'string' } }, ['token']) },
          responses: {
            200: { description: 'the token state', content: content(ref('Introspection')) },
            ...formBodyErrors,
            401: oauthError,
            403: oauthError,
            429: throttled,
          },
        },
      },
      '/oauth2/auth': {
        get: { operationId: 'oauth2Authorize', ...authorize('query') },
        post: {
          operationId: 'oauth2AuthorizeWithForm',
          ...authorize('form'),
          requestBody: { required: true, content: form(authorizationParameters, ['client_id', 'response_type']) },
        },
      },
      '/oauth2/consent/requests/{id}': {
        parameters: [consentIdParameter],
        get: {
          operationId: 'getOAuth2ConsentRequest',
          summary: 'Read a consent request (scope hydra.consent, action get on oauth2:consent:requests:<id>)',
          security: bearer,
          responses: {
            200: { description: 'the consent request', content: content(ref('ConsentRequest')) },
            404: apiError('unknown consent request'),
            410: apiError('the consent request expired or was already used'),
            ...management,
          },
        },
      },
      '/oauth2/consent/requests/{id}/accept': {
        parameters: [consentIdParameter],
        patch: {
          operationId: 'acceptOAuth2ConsentRequest',
          summary: 'Accept a consent request: the subject, the granted scopes (a subset of the requested ones) and extra claims',
          security: bearer,
          requestBody: { required: true, content: content(ref('ConsentRequestAcceptance')) },
          responses: { 204: { description: 'accepted' }, ...consentDecisionErrors },
        },
      },
      '/oauth2/consent/requests/{id}/reject': {
        parameters: [consentIdParameter],
        patch: {
          operationId: 'rejectOAuth2ConsentRequest',
          summary: 'Reject a consent request; the client receives error=rejected_consent_request with the reason',
          security: bearer,
          requestBody: { content: content(ref('ConsentRequestRejection')) },
          responses: { 204: { description: 'rejected' }, ...consentDecisionErrors },
        },
      },
      '/oauth2/revoke': {
        post: {
          operationId: 'revokeOAuth2Token',
          summary: 'Revoke an access or refresh token of the calling client, and every token of its grant (RFC 7009)',
          security: [{ basic: [] }],
          requestBody: { required: true, content: form({ token: { type: 'string' }, token_type_hint: { type: 'string' } }, ['token']) },
          responses: {
            200: { description: 'revoked, or the token was unknown' },
            ...formBodyErrors,
            401: oauthError,
            429: throttled,
          },
        },
      },
      '/userinfo': {
        get: { operationId: 'userinfo', ...userinfo },
        post: { operationId: 'userinfoWithForm', ...userinfo, requestBody: { content: form({ access_token: { type: 'string' } }, []) } },
      },
      '/oauth2/flush': {
        post: {
          operationId: 'flushInactiveOAuth2Tokens',
          summary: 'Delete expired access tokens issued before notAfter',
          security: bearer,
          requestBody: { content: content(withoutDialect(json(flushSchema))) },
          responses: {
            204: { description: 'flushed' },
            ...jsonBodyErrors,
            400: apiError('the body is not valid JSON, or notAfter is not an RFC 3339 date-time'),
            ...management,
          },
        },
      },
      '/.well-known/openid-configuration': {
        get: { operationId: 'discoverOpenIDConfiguration', summary: 'OpenID Connect discovery', responses: { 200: { description: 'the configuration' } } },
      },
      '/.well-known/jwks.json': {
        get: { operationId: 'wellKnownJsonWebKeys', summary: 'Public ID-token signing keys', responses: { 200: { description: 'a JSON Web Key Set' } } },
      },
      '/health/alive': { get: { operationId: 'isInstanceAlive', summary: 'Liveness', responses: { 200: { description: 'alive' } } } },
      '/health/ready': {
        get: {
          operationId: 'isInstanceReady',
          summary: 'Readiness (checks the database)',
          responses: { 200: { description: 'ready' }, 503: { description: 'the database did not answer, or can no longer make changes durable' } },
        },
      },
      '/metrics': { get: { operationId: 'prometheusMetrics', summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } },
    },
  };
}
