import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

const APP = 'https://app.example.com';
const STRANGER = 'https://evil.example.net';
const DISCOVERY = '/.well-known/openid-configuration';

/** A browser's preflight: OPTIONS with Origin and Access-Control-Request-Method. */
function preflight(t: TestServer, path: string, origin: string, method = 'POST', headers = 'authorization,content-type'): Promise<Response> {
  return fetch(`${t.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

const get = (t: TestServer, path: string, headers: Record<string, string> = {}) => fetch(`${t.url}${path}`, { headers });

function corsHeaders(response: Response): string[] {
  return [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
}

/** Vary lists Origin, so a shared cache never hands one origin's answer to another. */
function varyNames(response: Response): string[] {
  return (response.headers.get('vary') ?? '').split(',').map((name) => name.trim().toLowerCase());
}

/** A server with these settings for the enclosing describe block; call the result inside a test. */
function serverWith(env: Record<string, string>): () => TestServer {
  let t: TestServer | undefined;
  beforeAll(async () => {
    t = await startTestServer('sqlite', env);
  });
  afterAll(async () => t?.close());
  return () => t!;
}

describe('CORS with listed origins', () => {
  const server = serverWith({
    CORS_ENABLED: 'true',
    CORS_ALLOWED_ORIGINS: `${APP}, https://admin.example.com`,
    CORS_ALLOW_CREDENTIALS: 'true',
    CORS_MAX_AGE: '600',
  });

  it('answers a simple request from a listed origin with its own origin, credentials and the exposed headers', async () => {
    const response = await get(server(), DISCOVERY, { origin: APP });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-expose-headers')).toBe('Link, X-Total-Count, Location, X-Request-ID');
    expect(varyNames(response)).toContain('origin');
  });

  it('answers a preflight from a listed origin before authentication, with the configured methods, headers and max age', async () => {
    // /clients needs a bearer token, which a browser never sends on a preflight.
    for (const path of ['/oauth2/token', '/clients']) {
      const response = await preflight(server(), path, APP);
      expect(response.status, path).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, PATCH, DELETE');
      expect(response.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type');
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.get('x-request-id')).toBeTruthy();
      expect(await response.text()).toBe('');
    }
  });

  it('answers a preflight from an unlisted origin without allowing it, rather than with a 404', async () => {
    const response = await preflight(server(), '/oauth2/token', STRANGER);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(varyNames(response)).toContain('origin');
  });

  it('never names an unlisted origin, nor any origin when none was sent', async () => {
    const stranger = await get(server(), DISCOVERY, { origin: STRANGER });
    expect(stranger.status).toBe(200);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    const sameOrigin = await get(server(), DISCOVERY);
    expect(sameOrigin.status).toBe(200);
    expect(sameOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses an OPTIONS request that is not a preflight instead of answering it as one', async () => {
    const response = await fetch(`${server().url}/oauth2/token`, { method: 'OPTIONS', headers: { origin: APP } });
    expect(response.ok).toBe(false);
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('CORS with a wildcard origin and no credentials', () => {
  const server = serverWith({ CORS_ENABLED: 'true', CORS_ALLOWED_ORIGINS: '*' });

  it('allows any origin as "*" and sends no credentials header', async () => {
    const response = await get(server(), DISCOVERY, { origin: STRANGER });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('answers a preflight from any origin, without a max age when CORS_MAX_AGE is 0', async () => {
    const response = await preflight(server(), '/oauth2/introspect', STRANGER);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, PATCH, DELETE');
    expect(response.headers.get('access-control-max-age')).toBeNull();
  });
});

describe('CORS with a wildcard origin and credentials', () => {
  const server = serverWith({ CORS_ENABLED: 'true', CORS_ALLOWED_ORIGINS: '*', CORS_ALLOW_CREDENTIALS: 'true' });

  // Browsers refuse "*" on a credentialed request, so the origin is echoed instead (as Hydra does).
  it('echoes the requesting origin with credentials, varying on Origin', async () => {
    for (const response of [await get(server(), DISCOVERY, { origin: STRANGER }), await preflight(server(), '/oauth2/token', STRANGER)]) {
      expect(response.headers.get('access-control-allow-origin')).toBe(STRANGER);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(varyNames(response)).toContain('origin');
    }
  });
});

describe('CORS disabled (the default)', () => {
  const server = serverWith({ CORS_ALLOWED_ORIGINS: APP });

  it('sends no CORS headers, even to an origin that would be listed', async () => {
    const simple = await get(server(), DISCOVERY, { origin: APP });
    expect(simple.status).toBe(200);
    expect(corsHeaders(simple)).toEqual([]);
    const answer = await preflight(server(), '/oauth2/token', APP);
    expect(corsHeaders(answer)).toEqual([]);
    expect(varyNames(answer)).not.toContain('origin');
  });
});
