import { z } from 'zod';
import { CLIENT_ID, clientInputSchema, listQuerySchema, oauth2ClientWithSecretSchema } from '../contract/client.js';
import { flushSchema, introspectionSchema, tokenResponseSchema } from '../contract/oauth2.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
// The document declares its dialect once; a $schema inside a component would repeat it.
const withoutDialect = ({ $schema: _dialect, ...schema }: Record<string, unknown>) => schema;
/** A response body as the server sends it: the schema's output side, exactly its fields. */
const answered = (schema: z.ZodType) => withoutDialect(z.toJSONSchema(schema, { io: 'output', target: 'draft-2020-12' }));
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
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } },
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
