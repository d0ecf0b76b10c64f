import { randomUUID } from 'node:crypto';
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  // Redaction walks its paths on every line: about 5 µs of the 7 µs an access line cost, 25 µs of each browser flow's
  // five requests. These lines carry only the fields written below, none of which can hold a credential, so they skip
  // it; every other line is still redacted.
  const accessLog = app.log.child({}, { redact: [] });
  // Callback-style hooks: they run on every request, where async ones would cost a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-ID', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe({ method: request.method, route, status_code: reply.statusCode }, seconds);
    accessLog.info(
      {
        reqId: request.id,
        method: request.method,
        route,
        path: pathOnly(request),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ip: request.ip,
      },
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

/**
 * Fastify's clientErrorHandler: what Node's HTTP parser refuses before a request exists (a request line and headers
 * over the size limit, raw bytes in the target, a request not received in time) is answered in the management
 * envelope, where Fastify would send a body of its own.
 */
export function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  // Nobody is left to answer after a reset; bytes behind the first parse error raise it again, already answered.
  if (error.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  const { status, reason } = describeClientError(error);
  // Not the error itself: Node attaches the raw request bytes (rawPacket), which may hold an Authorization header or a
  // form with client_secret.
  this.log.debug({ code: error.code, reason: error.message, status }, 'refused a request the HTTP parser could not read');
  // Bytes written while a response on this connection is under way would corrupt it.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const body = JSON.stringify(new ApiError(status, reason).toBody(requestId));
  const answer =
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`;
  // A client too slow to finish its request gets no more time once answered.
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.end(answer, () => socket.destroy());
    return;
  }
  // Closing at once with request bytes still unread (the rest of an overlong URL) makes the kernel send a reset, which
  // can discard this answer before the client reads it: end our side, and close only if the client does not.
  socket.end(answer);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function describeClientError(error: ConnectionError): { status: number; reason: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: `the request line and headers are larger than the ${maxHeaderSize} bytes this server reads; a long URL counts too` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'the request was not received in time' };
    case 'HPE_INVALID_URL':
      return { status: 400, reason: 'the request target is not a valid URL: bytes outside printable ASCII must be percent-encoded' };
    default:
      return { status: 400, reason: `the request is not valid HTTP/1.1 (${error.code})` };
  }
}

/**
 * @fastify/cors options for the CORS_* settings, with Hydra's meaning; undefined while CORS is off, so that nothing at
 * all runs per request then.
 */
export function corsOptions(config: Config): FastifyCorsOptions | undefined {
  if (!config.CORS_ENABLED) return undefined;
  const anyOrigin = config.CORS_ALLOWED_ORIGINS.includes('*');
  return {
    // Browsers refuse "*" on a credentialed request, so a wildcard with credentials echoes the caller's origin instead
    // (`true`). A list is matched exactly; an unlisted origin gets no Access-Control-Allow-Origin, which is what makes
    // the browser refuse it, while its preflight is still answered rather than falling through to a 404. (A function
    // answering `false` would skip the preflight and bring that 404 back.)
    origin: anyOrigin ? (config.CORS_ALLOW_CREDENTIALS ? true : '*') : config.CORS_ALLOWED_ORIGINS,
    credentials: config.CORS_ALLOW_CREDENTIALS,
    methods: config.CORS_ALLOWED_METHODS,
    // Always the configured list: leaving it out would make the plugin allow whatever headers a preflight asks for.
    allowedHeaders: config.CORS_ALLOWED_HEADERS,
    // The plugin sends these headers for any key present, so "none" must be an absent key, never undefined or [].
    ...(config.CORS_EXPOSED_HEADERS.length ? { exposedHeaders: config.CORS_EXPOSED_HEADERS } : {}),
    ...(config.CORS_MAX_AGE ? { maxAge: config.CORS_MAX_AGE } : {}),
    // Preflights are answered in onRequest, before any route's authentication: a browser never sends credentials on one.
    hook: 'onRequest',
    // An OPTIONS request without Origin and Access-Control-Request-Method is not a preflight: refuse it (400) rather
    // than answer it with CORS headers.
    strictPreflight: true,
  };
}

/**
 * The public OAuth 2.0 endpoints a browser application calls (Hydra's public port): a client's allowed_cors_origins
 * open these, and only these, to its origins. The management API stays with CORS_ALLOWED_ORIGINS.
 */
export const CLIENT_CORS_PATHS: ReadonlySet<string> = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/jwks.json',
  '/oauth2/token',
  '/oauth2/revoke',
  '/userinfo',
]);

/** The origins some client allows (ClientCorsOrigins). */
export interface AllowedOrigins {
  has(origin: string): boolean;
}

/**
 * CORS as Hydra configures it (CORS_* variables); off unless enabled. With `clientOrigins`, the origins clients list
 * are allowed too on the public OAuth 2.0 endpoints, with the same methods, headers and credentials setting, as in
 * Hydra (which also needs CORS_ENABLED for them).
 */
export async function registerCors(app: FastifyInstance, config: Config, clientOrigins?: AllowedOrigins): Promise<void> {
  const options = corsOptions(config);
  if (!options) return;
  // A wildcard already allows every origin: nothing a client lists can add to it, and nothing need run per request.
  if (!clientOrigins || !Array.isArray(options.origin)) {
    await app.register(fastifyCors, options);
    return;
  }
  // Two fixed sets of options, chosen per request: the configured list, or the caller's origin echoed. An origin
  // neither allows still has its preflight answered (without Access-Control-Allow-Origin), as with the list alone.
  const listed = options;
  const echoed: FastifyCorsOptions = { ...options, origin: true };
  await app.register(fastifyCors, {
    hook: 'onRequest',
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      const allowed = origin !== undefined && clientOrigins.has(origin) && CLIENT_CORS_PATHS.has(pathOnly(request));
      callback(null, allowed ? echoed : listed);
    },
  });
}
