// A browser without a browser, for flow tests: follows the authorization endpoint's redirects by hand, keeps its
// cookies, and plays the consent app through the consent API. The real-browser test uses Chromium instead.
import { expect } from 'vitest';
import type { ConsentAcceptanceInput, ConsentRequest } from '../../src/contract/consent.js';
import type { TestServer } from './server.js';

export interface Decision {
  accept?: ConsentAcceptanceInput;
  reject?: { reason?: string };
}

/** The cookies one browser holds for the server: name → value, as Set-Cookie left them. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const equals = pair!.indexOf('=');
      const name = pair!.slice(0, equals).trim();
      const value = pair!.slice(equals + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get size(): number {
    return this.cookies.size;
  }
}

/** GET without following redirects, sending and keeping the jar's cookies. */
export async function visit(url: string | URL, jar: CookieJar): Promise<Response> {
  const response = await fetch(url, { redirect: 'manual', headers: jar.size ? { cookie: jar.header() } : {} });
  jar.take(response);
  return response;
}

export function locationOf(response: Response): URL {
  expect(response.status, `a redirect, got ${response.status}`).toBe(302);
  return new URL(response.headers.get('location')!);
}

/** The consent app's side: read the request, then accept or reject it with a bearer holding hydra.consent. */
export async function decide(t: TestServer, bearer: string, consentId: string, decision: Decision): Promise<ConsentRequest> {
  const headers = { authorization: `Bearer ${bearer}` };
  const read = await fetch(`${t.url}/oauth2/consent/requests/${consentId}`, { headers });
  expect(read.status, await read.clone().text()).toBe(200);
  const request = (await read.json()) as ConsentRequest;
  const [action, body] = decision.reject ? ['reject', decision.reject] : ['accept', decision.accept];
  const decided = await fetch(`${t.url}/oauth2/consent/requests/${consentId}/${action}`, {
    method: 'PATCH',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(decided.status, await decided.clone().text()).toBe(204);
  return request;
}

/**
 * A whole browser round trip: the authorization URL, the consent app's decision, the redirect back; returns the URL
 * the browser finally lands on at the client (its callback, with code, tokens or error).
 */
export async function authorizeInBrowser(t: TestServer, bearer: string, authorizationUrl: URL, decision: Decision, jar = new CookieJar()): Promise<URL> {
  const toConsent = locationOf(await visit(authorizationUrl, jar));
  const consentId = toConsent.searchParams.get('consent');
  expect(consentId, `consent id in ${toConsent.href}`).toBeTruthy();
  const request = await decide(t, bearer, consentId!, decision);
  return locationOf(await visit(request.redirectUrl, jar));
}
