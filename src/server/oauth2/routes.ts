import type { FastifyError, FastifyInstance } from 'fastify';
import type { ManagementGuard } from '../auth/guard.js';
import { ApiError, OAuthError, describeFrameworkError, invalidRequest } from '../errors.js';
import { managementErrorHandler } from '../http.js';
import { parseOrThrow } from '../validation.js';
import { formOf, registerFormParser } from './form.js';
import type { OAuth2Service } from './service.js';
import { z } from 'zod';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

const flushSchema = z.object({ notAfter: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional() }).strict();

/** The RFC 6749 endpoints; errors here use the OAuth 2.0 error format, not the management envelope. */
export function oauth2Routes(deps: { oauth2: OAuth2Service; guard: ManagementGuard }) {
  const { oauth2, guard } = deps;

  return async function plugin(app: FastifyInstance): Promise<void> {
    registerFormParser(app);
    app.setErrorHandler((error: FastifyError | OAuthError | ApiError, request, reply) => {
      if (error instanceof ApiError) return reply.code(error.statusCode).send(error.toBody(request.id));
      if (error instanceof OAuthError) {
        if (error.statusCode === 401) reply.header('WWW-Authenticate', 'Basic realm="gatehouse"');
        return reply.code(error.statusCode).headers(NO_STORE).send(error.toBody());
      }
      const { status, reason } = describeFrameworkError(error);
      if (status === 500) request.log.error({ err: error }, 'unhandled error');
      const code = status === 500 ? 'server_error' : 'invalid_request';
      return reply
        .code(status)
        .headers(NO_STORE)
        .send(new OAuthError(status, code, reason).toBody());
    });

    app.post('/oauth2/token', async (request, reply) => {
      requireForm(request.headers['content-type']);
      const response = await oauth2.token(request.headers.authorization, formOf(request.body));
      return reply.headers(NO_STORE).send(response);
    });

    app.post('/oauth2/introspect', async (request, reply) => {
      requireForm(request.headers['content-type']);
      const form = formOf(request.body);
      if (/^bearer /i.test(request.headers.authorization ?? '')) {
        await guard.require(request, { scope: 'hydra.introspect', resource: 'oauth2:tokens', action: 'introspect' });
      } else {
        await oauth2.authenticateClient(request.headers.authorization, { client_id: form.client_id, client_secret: form.client_secret } as Record<
          string,
          string
        >);
      }
      if (!form.token) throw invalidRequest('The token parameter is missing');
      return reply.headers(NO_STORE).send(await oauth2.introspect(form.token, form.scope));
    });

    // Flush is a management call (Hydra's flush request is JSON): its own context, so every error of it, including
    // unparsable or oversized bodies, comes in the management envelope rather than the OAuth 2.0 format.
    await app.register(async (management) => {
      management.setErrorHandler(managementErrorHandler);
      management.removeContentTypeParser('text/plain');
      management.post('/oauth2/flush', async (request, reply) => {
        await guard.require(request, { scope: 'hydra.oauth2.flush', resource: 'oauth2:tokens', action: 'flush' });
        const body = parseOrThrow(flushSchema, request.body ?? {}, 'flush request');
        await oauth2.flush(body.notAfter ? Date.parse(body.notAfter) : Date.now());
        return reply.code(204).send();
      });
    });
  };
}

function requireForm(contentType: string | undefined): void {
  if (!contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw invalidRequest('The request body must be application/x-www-form-urlencoded');
  }
}
