import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ManagementGuard } from '../auth/guard.js';
import { ApiError, OAuthError, TooManyFailedAuthentications, describeFrameworkError, invalidRequest } from '../errors.js';
import { managementErrorHandler } from '../http.js';
import { declared, type Operation } from '../openapi/declare.js';
import { apiError, content, form, formBodyErrors, jsonBodyErrors, oauthError, throttled } from '../openapi/responses.js';
import { formOf, registerFormParser } from './form.js';
import type { HeldRefusals } from './held-refusals.js';
import type { OAuth2Service } from './service.js';
import { flushSchema, introspectionSchema, tokenResponseSchema, type FlushRequest } from '../../contract/oauth2.js';
import { responseJsonSchema } from '../../contract/json-schema.js';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
const FORM = 'application/x-www-form-urlencoded';
// RFC 6750 §3: errors about the caller's bearer token, which challenge for a bearer token rather than for Basic.
const BEARER_ERRORS = new Set(['invalid_token', 'insufficient_scope']);

const userinfo: Omit<Operation, 'operationId'> = {
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
const basic = [{ basic: [] }];
const operations = {
  token: {
    operationId: 'oauth2Token',
    summary: 'The OAuth 2.0 token endpoint',
    security: basic,
    requestBody: {
      required: true,
      content: form(
        {
          grant_type: { type: 'string' },
          scope: { type: 'string' },
          audience: {
            type: 'string',
            description: "Space-separated audiences for the access token, each in the client's audience list (introspection's aud)",
          },
          client_id: { type: 'string' },
          client_secret: { type: 'string' },
        },
        ['grant_type'],
      ),
    },
    responses: { 200: { description: 'a token' }, ...formBodyErrors, 401: oauthError, 429: throttled },
  },
  introspect: {
    operationId: 'introspectOAuth2Token',
    summary: 'Introspect an access token (RFC 7662)',
    security: [...basic, { bearer: [] }],
    requestBody: { required: true, content: form({ token: { type: 'string' }, scope: { type: 'string' } }, ['token']) },
    responses: { 200: { description: 'the token state' }, ...formBodyErrors, 401: oauthError, 403: oauthError, 429: throttled },
  },
  revoke: {
    operationId: 'revokeOAuth2Token',
    summary: 'Revoke an access or refresh token of the calling client, and every token of its grant (RFC 7009)',
    security: basic,
    requestBody: { required: true, content: form({ token: { type: 'string' }, token_type_hint: { type: 'string' } }, ['token']) },
    responses: { 200: { description: 'revoked, or the token was unknown' }, ...formBodyErrors, 401: oauthError, 429: throttled },
  },
  userinfo: { operationId: 'userinfo', ...userinfo },
  userinfoWithForm: { operationId: 'userinfoWithForm', ...userinfo, requestBody: { content: form({ access_token: { type: 'string' } }, []) } },
  flush: {
    operationId: 'flushInactiveOAuth2Tokens',
    summary: 'Delete expired access tokens issued before notAfter',
    responses: {
      204: { description: 'flushed' },
      ...jsonBodyErrors,
      400: apiError('the body is not valid JSON, or notAfter is not an RFC 3339 date-time'),
    },
  },
} satisfies Record<string, Operation>;

/** The RFC 6749 endpoints; errors here use the OAuth 2.0 error format, not the management envelope. */
export function oauth2Routes(deps: { oauth2: OAuth2Service; guard: ManagementGuard; heldRefusals: HeldRefusals }) {
  const { oauth2, guard, heldRefusals } = deps;

  return async function plugin(app: FastifyInstance): Promise<void> {
    registerFormParser(app);
    app.setErrorHandler((error: FastifyError | OAuthError | ApiError, request, reply) => {
      if (error instanceof ApiError) return reply.code(error.statusCode).send(error.toBody(request.id));
      // Fastify found no parser for the body: here that means it is not a form, whatever else it is.
      if (!(error instanceof OAuthError) && error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') error = notAForm(request.headers['content-type']);
      if (error instanceof OAuthError) {
        if (error instanceof TooManyFailedAuthentications) {
          reply.header('Retry-After', String(error.retryAfterSeconds));
          if (error.firstRefusal)
            request.log.warn(
              { limitedBy: error.limitedBy, retryAfterSeconds: error.retryAfterSeconds },
              'client authentication throttled; further refusals are counted in gatehouse_client_auth_throttled_total until the limit lifts',
            );
        } else if (BEARER_ERRORS.has(error.error)) reply.header('WWW-Authenticate', `Bearer realm="gatehouse", error="${error.error}"`);
        else if (error.statusCode === 401) reply.header('WWW-Authenticate', 'Basic realm="gatehouse"');
        const oauthError = error;
        const send = () => reply.code(oauthError.statusCode).headers(NO_STORE).send(oauthError.toBody());
        const held = oauthError instanceof TooManyFailedAuthentications ? heldRefusals.hold(oauthError.retryAfterSeconds) : undefined;
        return held ? held.then(send) : send();
      }
      const { status, reason } = describeFrameworkError(error);
      if (status === 500) request.log.error({ err: error }, 'unhandled error');
      const code = status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : 'invalid_request';
      return reply
        .code(status)
        .headers(NO_STORE)
        .send(new OAuthError(status, code, reason).toBody());
    });

    app.post(
      '/oauth2/token',
      declared({ operation: operations.token, response: { 200: responseJsonSchema(tokenResponseSchema, 'TokenResponse') } }),
      async (request, reply) => {
        requireForm(request.headers['content-type']);
        const response = await oauth2.token(request.headers.authorization, formOf(request.body), request.ip);
        return reply.headers(NO_STORE).send(response);
      },
    );

    app.post(
      '/oauth2/introspect',
      declared({ operation: operations.introspect, response: { 200: responseJsonSchema(introspectionSchema, 'Introspection') } }),
      async (request, reply) => {
        requireForm(request.headers['content-type']);
        const form = formOf(request.body);
        if (/^bearer /i.test(request.headers.authorization ?? '')) {
          await guard.require(request, { scope: 'hydra.introspect', resource: 'oauth2:tokens', action: 'introspect' }).catch(asBearerError);
        } else {
          await oauth2.authenticateClient(
            request.headers.authorization,
            { client_id: form.client_id, client_secret: form.client_secret } as Record<string, string>,
            request.ip,
          );
        }
        if (!form.token) throw invalidRequest('The token parameter is missing');
        return reply.headers(NO_STORE).send(await oauth2.introspect(form.token, form.scope));
      },
    );

    // RFC 7009 §2.2: 200 with an empty body, also for a token that was unknown or already revoked.
    app.post('/oauth2/revoke', declared({ operation: operations.revoke }), async (request, reply) => {
      requireForm(request.headers['content-type']);
      await oauth2.revoke(request.headers.authorization, formOf(request.body), request.ip);
      return reply.headers(NO_STORE).code(200).send();
    });

    // OpenID Connect Core §5.3: the bearer token in the header, or (RFC 6750 §2.2) in a form body.
    const answerUserinfo = async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      const bearer = header && /^bearer\s+(\S+)\s*$/i.exec(header)?.[1];
      // A POST may carry no body at all (the token in the header); a body must be a form, like every OAuth 2.0 body.
      if (request.method === 'POST' && request.body !== undefined) requireForm(request.headers['content-type']);
      const inForm = request.method === 'POST' ? formOf(request.body).access_token : undefined;
      if (bearer && inForm) throw invalidRequest('The access token was sent both in the Authorization header and in the body; use one');
      return reply.headers(NO_STORE).send(await oauth2.userinfo(bearer || inForm));
    };
    app.get('/userinfo', declared({ operation: operations.userinfo }), answerUserinfo);
    app.post('/userinfo', declared({ operation: operations.userinfoWithForm }), answerUserinfo);

    // Flush is a management call (Hydra's flush request is JSON): its own context, so every error of it, including
    // unparsable or oversized bodies, comes in the management envelope rather than the OAuth 2.0 format.
    await app.register(async (management) => {
      management.setErrorHandler(managementErrorHandler);
      management.removeContentTypeParser('text/plain');
      management.post(
        '/oauth2/flush',
        declared({
          operation: operations.flush,
          management: { scope: 'hydra.oauth2.flush', resource: 'oauth2:tokens', action: 'flush' },
          // No body means "flush everything expired until now"; a JSON null is a body, and not an object.
          body: { schema: flushSchema, what: 'flush request', absent: {} },
        }),
        async (request, reply) => {
          const { notAfter } = request.body as FlushRequest;
          await oauth2.flush(notAfter ? Date.parse(notAfter) : Date.now());
          return reply.code(204).send();
        },
      );
    });
  };
}

function requireForm(contentType: string | undefined): void {
  if (!contentType?.toLowerCase().startsWith(FORM)) throw notAForm(contentType);
}

function notAForm(contentType: string | undefined): OAuthError {
  const mediaType = contentType?.split(';')[0]!.trim().slice(0, 100);
  return invalidRequest(
    mediaType ? `The request body is ${mediaType}; this endpoint takes ${FORM}` : `The request has no Content-Type; this endpoint takes an ${FORM} body`,
  );
}

/**
 * RFC 7662 §2.3: a caller authorizing with a bearer token that is invalid or lacks the privileges is answered as
 * RFC 6750 §3 says, in this endpoint's OAuth 2.0 format rather than the guard's management envelope.
 */
function asBearerError(error: unknown): never {
  if (error instanceof ApiError && error.statusCode === 401) throw new OAuthError(401, 'invalid_token', error.reason);
  if (error instanceof ApiError && error.statusCode === 403) throw new OAuthError(403, 'insufficient_scope', error.reason);
  throw error;
}
