import { invalidRequest } from '../errors.js';
import type { Form } from './form.js';

/**
 * The audiences a token request asks for (its `audience` parameter, space-separated as in Hydra), each checked against
 * the client's list; refused with invalid_request, as Hydra refuses, when one is not in it.
 */
export function grantedAudience(form: Form, allowed: readonly string[]): string[] {
  const requested = [...new Set((form.audience ?? '').split(' ').filter(Boolean))];
  const refused = requested.filter((audience) => !allowed.some((entry) => audienceCovers(entry, audience)));
  if (refused.length) {
    throw invalidRequest(
      `The client is not allowed to request the audience(s) ${refused.map((audience) => `"${audience}"`).join(', ')}: not in its audience list`,
    );
  }
  return requested;
}

/**
 * Hydra's default audience matching: a plain identifier matches itself; a URI in the list also covers the URIs under
 * its path (https://api.example.com/v1 covers https://api.example.com/v1/orders, not https://api.example.com/v10).
 */
export function audienceCovers(allowed: string, requested: string): boolean {
  if (allowed === requested) return true;
  const base = URL.parse(allowed);
  const asked = URL.parse(requested);
  if (!base || !asked || !base.host || base.protocol !== asked.protocol || base.host !== asked.host) return false;
  const path = base.pathname.replace(/\/+$/, '');
  return asked.pathname.replace(/\/+$/, '') === path || asked.pathname.startsWith(`${path}/`);
}
