// A login-and-consent app for Gatehouse, written against its SDK the way a deployment runs one: it has its own
// OAuth 2.0 client (scope hydra.consent, a policy for consent requests and for reading clients), shows who asks for
// what, and sends the browser back to the server with the user's decision. Outside this repository, import the SDK
// from "gatehouse/sdk".
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GatehouseApiError, type GatehouseClient } from '../../src/sdk/index.js';

export interface ConsentAppOptions {
  /** An SDK client authenticated as the consent app's own client. */
  gatehouse: GatehouseClient;
  /** user name → password. A real app asks its user directory instead. */
  users: Record<string, string>;
  /** Signs the session cookie and the forms' CSRF tokens; random per process when not given. */
  sessionSecret?: string;
  /** Set the Secure flag on the session cookie (serve the app over https). */
  secureCookies?: boolean;
}

const SESSION_COOKIE = 'consent_app_session';
const SESSION_HOURS = 8;

interface Session {
  user: string;
  signedInAt: number;
}

/** Choices remembered per user and client: the scopes the user granted with "remember". */
type Remembered = Map<string, Set<string>>;

export function consentApp(options: ConsentAppOptions): Server {
  const secret = options.sessionSecret ?? randomBytes(32).toString('base64url');
  const remembered: Remembered = new Map();
  const sign = (value: string) => createHmac('sha256', secret).update(value).digest('base64url');

  return createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof GatehouseApiError && error.status < 500 ? 400 : 502;
      const reason = error instanceof GatehouseApiError ? JSON.stringify(error.body) : String(error);
      send(response, status, page('Something went wrong', `<p>The consent request could not be handled: ${escape(reason)}</p>`));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://consent-app');
    if (url.pathname !== '/consent') return send(response, 404, page('Not found', '<p>Nothing here.</p>'));
    const session = sessionOf(request.headers.cookie);
    const user = session?.user;
    if (request.method === 'GET') {
      const consent = url.searchParams.get('consent');
      if (!consent) return send(response, 400, page('Missing consent request', '<p>Come here from an application that asked you to sign in.</p>'));
      return session ? showConsent(response, consent, session) : send(response, 200, loginPage(consent, ''));
    }
    if (request.method !== 'POST') return send(response, 405, page('Method not allowed', ''));
    // Login CSRF: a form another site posts (which could sign the browser in as the attacker) names that site as its
    // Origin; browsers send Origin on every cross-site POST.
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `${secureOrPlain(options)}://${request.headers.host}`) {
      return send(response, 403, page('Forbidden', '<p>The form was not sent from this site.</p>'));
    }
    const form = new URLSearchParams(await bodyOf(request));
    const consent = form.get('consent') ?? '';
    if (form.get('action') === 'login') {
      const name = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const known = options.users[name];
      if (known === undefined || !sameText(known, password)) return send(response, 401, loginPage(consent, 'Unknown user name or wrong password.'));
      response.setHeader('Set-Cookie', sessionCookie(name));
      return redirect(response, `/consent?consent=${encodeURIComponent(consent)}`);
    }
    if (!session || !user) return send(response, 401, loginPage(consent, 'Your session ended; sign in again.'));
    if (!sameText(form.get('csrf') ?? '', sign(`csrf:${user}:${consent}`)))
      return send(response, 403, page('Forbidden', '<p>The form was not sent from this page.</p>'));
    if (form.get('action') === 'deny') {
      await options.gatehouse.rejectConsentRequest(consent, { reason: `${user} denied the request` });
    } else {
      const request = await options.gatehouse.getConsentRequest(consent);
      const granted = form.getAll('scope').filter((scope) => request.requestedScopes.includes(scope));
      if (form.get('remember') === 'on') remembered.set(`${user}\n${request.clientId}`, new Set(granted));
      await options.gatehouse.acceptConsentRequest(consent, accepted(session, granted));
    }
    // The server's own URL for the request: where the browser carries the decision back.
    return redirect(response, (await options.gatehouse.getConsentRequest(consent)).redirectUrl);
  }

  /** The acceptance: who, what, and when they signed in (the ID token's auth_time), which may be hours ago. */
  function accepted(session: Session, grantScopes: string[]) {
    return { subject: session.user, grantScopes, authTime: new Date(session.signedInAt).toISOString(), idTokenExtra: { preferred_username: session.user } };
  }

  async function showConsent(response: ServerResponse, consent: string, session: Session): Promise<void> {
    const { user } = session;
    const request = await options.gatehouse.getConsentRequest(consent);
    const choice = remembered.get(`${user}\n${request.clientId}`);
    // skip: the client is registered with skip_consent (a first-party application), so there is nothing to ask.
    if (request.skip || (choice && request.requestedScopes.every((scope) => choice.has(scope)))) {
      await options.gatehouse.acceptConsentRequest(consent, accepted(session, request.requestedScopes));
      return redirect(response, request.redirectUrl);
    }
    const client = await options.gatehouse.getClient(request.clientId);
    const name = client.client_name || client.id;
    const logo = /^https?:\/\//.test(client.logo_uri) ? `<img src="${escape(client.logo_uri)}" alt="" width="48" height="48">` : '';
    const scopes = request.requestedScopes
      .map((scope) => `<li><label><input type="checkbox" name="scope" value="${escape(scope)}" checked> ${escape(scope)}</label></li>`)
      .join('');
    send(
      response,
      200,
      page(
        `${name} asks for access`,
        `${logo}<p>Signed in as <b>${escape(user)}</b>. <b>${escape(name)}</b> asks for:</p>
<form method="post" action="/consent">
<input type="hidden" name="consent" value="${escape(consent)}"><input type="hidden" name="csrf" value="${sign(`csrf:${user}:${consent}`)}">
<ul>${scopes || '<li>no scopes</li>'}</ul>
<p><label><input type="checkbox" name="remember"> Remember my choice for ${escape(name)}</label></p>
<button name="action" value="accept" id="accept">Allow</button> <button name="action" value="deny" id="deny">Deny</button>
</form>`,
      ),
    );
  }

  function loginPage(consent: string, problem: string): string {
    return page(
      'Sign in',
      `${problem ? `<p role="alert">${escape(problem)}</p>` : ''}<form method="post" action="/consent">
<input type="hidden" name="consent" value="${escape(consent)}"><input type="hidden" name="action" value="login">
<p><label>User name <input name="username" id="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label></p>
<button id="login">Sign in</button></form>`,
    );
  }

  function sessionCookie(user: string): string {
    const value = `${Buffer.from(user).toString('base64url')}.${Date.now() + SESSION_HOURS * 3_600_000}`;
    const attributes = ['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${SESSION_HOURS * 3600}`, ...(options.secureCookies ? ['Secure'] : [])];
    return [`${SESSION_COOKIE}=${value}.${sign(`session:${value}`)}`, ...attributes].join('; ');
  }

  function sessionOf(header: string | undefined): Session | undefined {
    const cookie = header
      ?.split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${SESSION_COOKIE}=`));
    const [user, expires, signature] = cookie?.slice(SESSION_COOKIE.length + 1).split('.') ?? [];
    if (!user || !expires || !signature || !sameText(signature, sign(`session:${user}.${expires}`)) || Number(expires) < Date.now()) return undefined;
    return { user: Buffer.from(user, 'base64url').toString(), signedInAt: Number(expires) - SESSION_HOURS * 3_600_000 };
  }
}

const secureOrPlain = (options: ConsentAppOptions) => (options.secureCookies ? 'https' : 'http');

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > 64 * 1024) throw new Error('the form is too large');
  }
  return body;
}

function redirect(response: ServerResponse, location: string): void {
  response.writeHead(303, { Location: location, 'Cache-Control': 'no-store' }).end();
}

function send(response: ServerResponse, status: number, html: string): void {
  response
    .writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // Logos come from the client's registration; scripts from nowhere. No form-action: browsers apply it to every
      // redirect after a form is sent, and the decision's redirects end at whatever URI the client registered.
      'Content-Security-Policy': "default-src 'none'; img-src https: http:; style-src 'unsafe-inline'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
    })
    .end(html);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}button{padding:.4rem 1rem}</style></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (text: string) => text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
