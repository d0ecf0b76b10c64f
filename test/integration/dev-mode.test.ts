// `gatehouse serve --dev` (what `npm start` runs): the real process mounts its development sign-in page, points
// CONSENT_URL at it, and a whole authorization-code flow works with nothing else running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseClient } from '../../src/sdk/index.js';
import { freePort } from '../support/free-port.js';
import { sqliteServeEnv, startServeProcess, type RunningProcess } from '../support/process.js';
import { ROOT } from '../support/server.js';
import { CookieJar, locationOf, visit } from '../support/user-agent.js';

describe('gatehouse serve --dev', () => {
  let dir: string;
  let running: RunningProcess;
  let url: string;
  let root: GatehouseClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-dev-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    running = await startServeProcess(sqliteServeEnv(dir, port, { ISSUER: url }), url, 30_000, [], ['--dev']);
    root = new GatehouseClient({ endpoint: url, clientId: ROOT.id, clientSecret: ROOT.secret });
  });
  afterAll(async () => {
    await root?.close();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a user in through the built-in page, which says it is not for production', async () => {
    const app = await root.createClient({
      client_name: 'Dev <app>',
      redirect_uris: ['http://127.0.0.1:9/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      scope: 'openid',
    });
    const config = await oidc.discovery(new URL(url), app.id, undefined, oidc.ClientSecretBasic(app.client_secret), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorization = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'http://127.0.0.1:9/callback',
      scope: 'openid',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });

    const jar = new CookieJar();
    const signIn = locationOf(await visit(authorization, jar));
    expect(`${signIn.origin}${signIn.pathname}`).toBe(`${url}/dev/consent`);
    const page = await visit(signIn, jar);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Never use it in production');
    expect(html).toContain('Dev &lt;app&gt;');

    const decided = await fetch(`${url}/dev/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([
        ['consent', signIn.searchParams.get('consent')!],
        ['subject', 'ada'],
        ['scope', 'openid'],
        ['action', 'accept'],
      ]).toString(),
    });
    expect(decided.status).toBe(303);
    const callback = locationOf(await visit(decided.headers.get('location')!, jar));
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.sub).toBe('ada');
  });
});
