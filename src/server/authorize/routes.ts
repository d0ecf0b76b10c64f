import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, describeFrameworkError } from '../errors.js';
import { formFrom, registerFormParser } from '../oauth2/form.js';
import { declared, type Operation } from '../openapi/declare.js';
import { form, stringParameters } from '../openapi/responses.js';
import { sendErrorPage } from './error-page.js';
import { AuthorizationError, redirectWith, type AuthorizationParameters } from './request.js';
import type { AuthorizationOutcome, AuthorizeService } from './service.js';

const PARAMETERS = [
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
] as const;
const page = (description: string) => ({ description, content: { 'text/html': {} } });
const visit = {
  summary:
    'The OAuth 2.0 authorization endpoint: the first visit redirects to CONSENT_URL with consent=<id> and sets a consent cookie; ' +
    'the consent app sends the browser back with consent and consent_csrf, and the second visit redirects to the client with a code, tokens or an error',
  responses: {
    302: { description: 'to the consent app, or back to the client (query for code, fragment when tokens are returned)' },
    400: page('an HTML page: the client or its redirect URI is invalid, so there is nowhere safe to redirect to'),
  },
};
const operations = {
  query: {
    operationId: 'oauth2Authorize',
    ...visit,
    parameters: PARAMETERS.map((name) => ({ name, in: 'query', required: name === 'client_id', schema: { type: 'string' } })),
  },
  form: {
    operationId: 'oauth2AuthorizeWithForm',
    ...visit,
    requestBody: { required: true, content: form(stringParameters(PARAMETERS), ['client_id', 'response_type']) },
    responses: { ...visit.responses, 413: page('the body is larger than BODY_LIMIT'), 415: page('the body is not a form') },
  },
} satisfies Record<string, Operation>;

/** GET|POST /oauth2/auth: redirects, or an HTML page when there is nowhere safe to redirect to. */
export function authorizeRoutes(deps: { authorize: AuthorizeService; issuer: string }) {
  const { authorize } = deps;
  const issuer = new URL(deps.issuer);
  const cookie = { secure: issuer.protocol === 'https:', path: `${issuer.pathname.replace(/\/+$/, '')}/oauth2/auth` };

  return async function plugin(app: FastifyInstance): Promise<void> {
    registerFormParser(app);
    app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (error instanceof AuthorizationError) {
        if (error.redirect) {
          const { uri, mode, state } = error.redirect;
          return redirect(reply, redirectWith(uri, mode, { error: error.error, error_description: error.description, state }));
        }
        return sendErrorPage(reply, 400, error.error, error.description);
      }
      if (error instanceof OAuthError) return sendErrorPage(reply, error.statusCode, error.error, error.description);
      const { status, reason } = describeFrameworkError(error);
      if (status >= 500) request.log.error({ err: error }, 'the authorization request failed');
      return sendErrorPage(reply, status, status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : 'invalid_request', reason);
    });

    const handle = async (request: FastifyRequest, reply: FastifyReply, parameters: AuthorizationParameters) => {
      const outcome = await authorize.authorize(parameters, cookiesOf(request.headers.cookie), request.ip);
      if (outcome.cookies.length)
        reply.header(
          'Set-Cookie',
          outcome.cookies.map((set) => cookieHeader(set, cookie)),
        );
      return redirect(reply, outcome.location);
    };

    // No HEAD: each visit stores a consent request, which a HEAD (whose answer nobody follows) must not.
    app.get('/oauth2/auth', { ...declared({ operation: operations.query }), exposeHeadRoute: false }, (request, reply) =>
      handle(request, reply, parametersOf(new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1)), request.url.includes('?'))),
    );
    app.post('/oauth2/auth', declared({ operation: operations.form }), (request, reply) => {
      if (!request.headers['content-type']?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        throw new OAuthError(
          415,
          'invalid_request',
          'The authorization endpoint takes its parameters in the query (GET) or as application/x-www-form-urlencoded (POST)',
        );
      }
      return handle(request, reply, withoutEmpty((request.body ?? {}) as AuthorizationParameters));
    });
  };
}

/** RFC 6749 §3.1: a parameter sent twice is an error (a page, like every OAuthError here); one sent empty is omitted. */
function parametersOf(query: URLSearchParams, hasQuery: boolean): AuthorizationParameters {
  return hasQuery ? withoutEmpty(formFrom(query)) : {};
}

const withoutEmpty = (parameters: AuthorizationParameters): AuthorizationParameters =>
  Object.fromEntries(Object.entries(parameters).filter(([, value]) => value !== ''));

/** The cookies in the order the browser sent them (the first of a repeated name wins, as the longest path comes first). */
function cookiesOf(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of header?.split(';') ?? []) {
    const equals = part.indexOf('=');
    const name = part.slice(0, equals).trim();
    if (equals > 0 && !cookies.has(name)) cookies.set(name, part.slice(equals + 1).trim());
  }
  return cookies;
}

function cookieHeader(cookie: AuthorizationOutcome['cookies'][number], where: { secure: boolean; path: string }): string {
  // Lax: the consent app's redirect back is a top-level navigation, which carries it; a cross-site POST does not. The
  // path is the endpoint's under ISSUER, which may sit below a prefix behind a proxy.
  return [
    `${cookie.name}=${cookie.value ?? ''}`,
    `Path=${where.path}`,
    `Max-Age=${cookie.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(where.secure ? ['Secure'] : []),
  ].join('; ');
}

function redirect(reply: FastifyReply, location: string) {
  // Codes and tokens ride on these redirects: no cache may keep them, and no Referer may carry them on.
  return reply.code(302).headers({ Location: location, 'Cache-Control': 'no-store', Pragma: 'no-cache', 'Referrer-Policy': 'no-referrer' }).send();
}
