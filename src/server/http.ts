import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import { ApiError, describeFrameworkError } from './errors.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honours a well-formed X-Request-ID from a proxy so one id follows a request through every hop. */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Request id echo, one access-log line per request (never with bodies or query strings), and the duration metric. */
export function registerObservability(app: FastifyInstance, metrics: Metrics): void {
  // Callback-style hooks: they run on every request, where async ones would cost a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-ID', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe({ method: request.method, route, status_code: reply.statusCode }, seconds);
    request.log.info(
      { method: request.method, route, path: pathOnly(request), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, ip: request.ip },
      'request completed',
    );
    done();
  });
}

function pathOnly(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  return q === -1 ? request.url : request.url.slice(0, q);
}

/** The management envelope for any error; also used by management routes that live beside the OAuth 2.0 ones. */
export function managementErrorHandler(error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ApiError) return reply.code(error.statusCode).send(error.toBody(request.id));
  const { status, reason } = describeFrameworkError(error);
  if (status === 500) request.log.error({ err: error }, 'unhandled error');
  return reply.code(status).send(new ApiError(status, reason).toBody(request.id));
}

/** Everything outside the OAuth 2.0 endpoints answers errors in the management envelope. */
export function registerManagementErrors(app: FastifyInstance): void {
  app.setErrorHandler(managementErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new ApiError(404, `no route for ${request.method} ${pathOnly(request)}`, 'Unable to locate the resource').toBody(request.id)),
  );
}

/** CORS as Hydra configures it (CORS_* variables); off unless enabled. */
export function registerCors(app: FastifyInstance, config: Config): void {
  if (!config.CORS_ENABLED) return;
  const origins = new Set(config.CORS_ALLOWED_ORIGINS);
  const anyOrigin = origins.has('*');
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin || !(anyOrigin || origins.has(origin))) return;
    reply.header('Access-Control-Allow-Origin', anyOrigin && !config.CORS_ALLOW_CREDENTIALS ? '*' : origin);
    reply.header('Vary', 'Origin');
    if (config.CORS_ALLOW_CREDENTIALS) reply.header('Access-Control-Allow-Credentials', 'true');
    if (config.CORS_EXPOSED_HEADERS.length) reply.header('Access-Control-Expose-Headers', config.CORS_EXPOSED_HEADERS.join(', '));
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      reply.header('Access-Control-Allow-Methods', config.CORS_ALLOWED_METHODS.join(', '));
      reply.header('Access-Control-Allow-Headers', config.CORS_ALLOWED_HEADERS.join(', '));
      if (config.CORS_MAX_AGE) reply.header('Access-Control-Max-Age', String(config.CORS_MAX_AGE));
      return reply.code(204).send();
    }
  });
}
