import type { FastifyReply } from 'fastify';
import { escapeHtml, sendPage } from '../html.js';

/**
 * The page shown when an authorization request cannot be sent back to its client (unknown client, unregistered
 * redirect URI). Ory Hydra v0.10 had an XSS through the error_hint it printed here: every value is escaped.
 */
export function sendErrorPage(reply: FastifyReply, status: number, error: string, description: string) {
  return sendPage(
    reply,
    status,
    'Authorization failed',
    `<h1>The application's sign-in request cannot be completed</h1>
<p>${escapeHtml(description)}</p>
<p>Error <code>${escapeHtml(error)}</code> (HTTP ${status}). The application that sent you here may be misconfigured; go back to it and try again, or tell its operators.</p>`,
  );
}
