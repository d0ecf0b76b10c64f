import type { FastifyInstance, FastifyReply } from 'fastify';
import { escapeHtml, sendPage } from '../html.js';
import type { ClientService } from '../client/service.js';
import { ApiError } from '../errors.js';
import type { ConsentService } from '../consent/service.js';
import { consentAcceptanceSchema } from '../../contract/consent.js';
import { parseOrThrow } from '../validation.js';

export const DEV_CONSENT_PATH = '/dev/consent';
const DEV_USER = 'dev-user';

/**
 * `gatehouse serve --dev`: a login-and-consent page inside the server, so a browser flow works from the first
 * command. Anyone may sign in as anyone; it calls the consent service directly, with no client, token or policy. Never
 * for production: a real deployment runs its own consent app (examples/consent-app) against the consent API.
 */
export function devConsentRoutes(deps: { consent: ConsentService; clients: ClientService }) {
  const { consent, clients } = deps;

  return async function plugin(app: FastifyInstance): Promise<void> {
    // Its own parser: the scope checkboxes repeat one name, which the OAuth 2.0 endpoints' parser refuses.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
      done(null, new URLSearchParams(body as string)),
    );
    app.setErrorHandler((error: Error, _request, reply) => {
      const status = error instanceof ApiError ? error.statusCode : 500;
      const reason = error instanceof ApiError ? error.reason : error.message;
      return page(reply, status, 'The consent request cannot be shown', `<p>${escapeHtml(reason)}</p>`);
    });

    app.get(DEV_CONSENT_PATH, async (request, reply) => {
      const id = (request.query as Record<string, string | undefined>).consent ?? '';
      const record = await consent.find(id);
      const view = consent.view(id, record);
      // The client skips consent: what a consent app does then, accept at once, here as the page's default user.
      if (view.skip) {
        // Decided already (the page visited again): carried out as decided.
        if (record?.status === 'pending')
          await consent.accept(id, record, parseOrThrow(consentAcceptanceSchema, { subject: DEV_USER, grantScopes: view.requestedScopes }, 'consent'));
        return reply.code(303).header('Location', view.redirectUrl).send();
      }
      const client = await clients.findById(view.clientId);
      const name = client?.client_name || view.clientId;
      const scopes = view.requestedScopes
        .map((scope) => `<li><label><input type="checkbox" name="scope" value="${escapeHtml(scope)}" checked> ${escapeHtml(scope)}</label></li>`)
        .join('');
      return page(
        reply,
        200,
        `Sign in to ${name}`,
        `<form method="post" action="${DEV_CONSENT_PATH}">
<input type="hidden" name="consent" value="${escapeHtml(id)}">
<p><label>User name (any) <input name="subject" id="subject" value="${DEV_USER}" required></label></p>
<p><b>${escapeHtml(name)}</b> asks for:</p><ul>${scopes || '<li>no scopes</li>'}</ul>
<button name="action" value="accept" id="accept">Allow</button> <button name="action" value="deny" id="deny">Deny</button>
</form>`,
      );
    });

    app.post(DEV_CONSENT_PATH, async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const id = form.get('consent') ?? '';
      const record = await consent.find(id);
      if (form.get('action') === 'deny') {
        await consent.reject(id, record, { reason: 'denied on the development consent page' });
      } else {
        const acceptance = parseOrThrow(consentAcceptanceSchema, { subject: form.get('subject') ?? '', grantScopes: form.getAll('scope') }, 'consent');
        await consent.accept(id, record, acceptance);
      }
      return reply.code(303).header('Location', consent.view(id, record).redirectUrl).send();
    });
  };
}

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return sendPage(
    reply,
    status,
    title,
    `<p class="dev">Development sign-in (gatehouse serve --dev): anyone can sign in as anyone. Never use it in production.</p>
<h1>${escapeHtml(title)}</h1>${body}`,
  );
}
