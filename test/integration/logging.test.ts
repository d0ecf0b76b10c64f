import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { basic } from '../../src/sdk/client.js';
import { startTestServer, ROOT, type TestServer } from '../support/server.js';

describe('access logs', () => {
  let t: TestServer;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    t = await startTestServer('sqlite', {}, undefined, { logger: createLogger({ level: 'debug', format: 'json', destination: sink }) });
  });
  afterAll(async () => t?.close());

  it('carries the request id, honours a given X-Request-ID, and never contains a secret or token', async () => {
    const created = await t.root.createClient({ grant_types: ['client_credentials'], client_secret: 'a-secret-supplied-by-the-user-0123456789' });
    const tokenResponse = await fetch(`${t.url}/oauth2/token?client_secret=${encodeURIComponent(created.client_secret!)}`, {
      method: 'POST',
      headers: { authorization: basic(created.id, created.client_secret!), 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'trace-42' },
      body: 'grant_type=client_credentials',
    });
    expect(tokenResponse.headers.get('x-request-id')).toBe('trace-42');
    const { access_token } = (await tokenResponse.json()) as { access_token: string };
    await fetch(`${t.url}/oauth2/introspect`, {
      method: 'POST',
      headers: { authorization: basic(created.id, created.client_secret!), 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${access_token}`,
    });
    await fetch(`${t.url}/clients`, { headers: { authorization: `Bearer ${access_token}`, cookie: 'session=very-secret-cookie' } });
    // A header we do not accept as a request id is replaced, not echoed into the logs.
    const odd = await fetch(`${t.url}/health/alive`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const log = lines.join('\n');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.find((entry) => entry.reqId === 'trace-42')).toMatchObject({ route: '/oauth2/token', status: 200, path: '/oauth2/token' });
    expect(entries.filter((entry) => entry.msg === 'request completed').length).toBeGreaterThanOrEqual(5);
    for (const secret of [created.client_secret!, ROOT.secret, access_token, access_token.split('.')[1]!, 'very-secret-cookie']) {
      expect(log).not.toContain(secret);
    }
  });
});
