import { invalidClient, invalidRequest } from '../errors.js';
import type { Form } from './form.js';

export interface PresentedCredentials {
  clientId: string;
  secret: string;
  method: 'client_secret_basic' | 'client_secret_post';
}

/**
 * Client credentials from HTTP Basic (RFC 6749 §2.3.1: id and secret are form-urlencoded before base64) or from the
 * form body; undefined when the request carries neither. Using both at once is an error the RFC calls out.
 */
export function presentedCredentials(authorization: string | undefined, form: Form): PresentedCredentials | undefined {
  const basic = authorization && /^basic /i.test(authorization) ? parseBasic(authorization.slice(6).trim()) : undefined;
  const inForm = form.client_id !== undefined || form.client_secret !== undefined;
  if (basic && inForm && form.client_secret !== undefined) {
    throw invalidRequest('Client credentials were sent both in the Authorization header and in the body; use one method');
  }
  if (basic && form.client_id !== undefined && form.client_id !== basic.clientId) {
    throw invalidRequest('The client_id in the body differs from the one in the Authorization header');
  }
  if (basic) return basic;
  if (form.client_id !== undefined && form.client_secret !== undefined) {
    return { clientId: form.client_id, secret: form.client_secret, method: 'client_secret_post' };
  }
  return undefined;
}

function parseBasic(encoded: string): PresentedCredentials {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('The Authorization header is not valid HTTP Basic credentials');
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
      method: 'client_secret_basic',
    };
  } catch {
    throw invalidClient('The client id or secret in the Authorization header is not properly URL-encoded');
  }
}
