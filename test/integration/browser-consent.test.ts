// A real browser through a whole sign-in: headless Chromium (Debian's package) driven by playwright-core goes from a
// relying party to the authorization endpoint, logs in and consents on the example consent app
// (examples/consent-app), and lands back at the relying party, which exchanges the code with openid-client. A second
// run denies, and the relying party receives rejected_consent_request with its state.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentApp } from '../../examples/consent-app/app.js';
import { GatehouseClient } from '../../src/sdk/index.js';
import type { TestServer } from '../support/server.js';
import { createClient, startServerWithOwnIssuer } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CONSENT_APP_ID = 'consent-app';
const USERS = { alice: 'wonderland' };

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

describe('a browser signs in through the example consent app', () => {
  let t: TestServer;
  let browser: Browser;
  let consent: Server;
  let relyingParty: Server;
  let callbacks: URL[];
  let callbackUrl: string;
  let config: oidc.Configuration;
  let gatehouse: GatehouseClient;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does), or set CHROMIUM_PATH`);
    // The consent app's port must be known before the server starts, since CONSENT_URL points at it.
    consent = createServer();
    const consentPort = await listen(consent);
    t = await startServerWithOwnIssuer('sqlite', {
      // localhost, not 127.0.0.1: cookies ignore ports, and the consent app is another site than the server.
      CONSENT_URL: `http://localhost:${consentPort}/consent`,
      POLICIES: JSON.stringify([
        {
          id: 'consent-app',
          subjects: [CONSENT_APP_ID],
          effect: 'allow',
          resources: ['rn:hydra:oauth2:consent:requests:<.*>', 'rn:hydra:clients:<.*>'],
          actions: ['get', 'accept', 'reject'],
        },
      ]),
    });
    const own = await createClient(t, { id: CONSENT_APP_ID, grant_types: ['client_credentials'], scope: 'hydra.consent hydra.clients' });
    gatehouse = new GatehouseClient({ endpoint: t.url, clientId: own.id, clientSecret: own.client_secret!, scope: 'hydra.consent hydra.clients' });
    const app = consentApp({ gatehouse, users: USERS });
    consent.on('request', (request, response) => app.emit('request', request, response));

    callbacks = [];
    relyingParty = createServer((request, response) => {
      // Chromium also asks for /favicon.ico.
      const url = new URL(request.url!, callbackUrl);
      if (url.pathname === '/callback') callbacks.push(url);
      response.writeHead(200, { 'content-type': 'text/html' }).end('<p id="done">back at the relying party</p>');
    });
    callbackUrl = `http://127.0.0.1:${await listen(relyingParty)}/callback`;
    const rp = await createClient(t, {
      client_name: 'Orders <script>',
      redirect_uris: [callbackUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline orders.read',
    });
    config = await oidc.discovery(new URL(t.url), rp.id, undefined, oidc.ClientSecretBasic(rp.client_secret), { execute: [oidc.allowInsecureRequests] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    await gatehouse?.close();
    relyingParty?.close();
    consent?.close();
    await t?.close();
  });

  async function startSignIn() {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: callbackUrl,
      scope: 'openid offline orders.read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url.href);
    await page.fill('#username', 'alice');
    await page.fill('#password', USERS.alice);
    await page.click('#login');
    await page.waitForSelector('#accept');
    return { verifier, state, nonce, context, page };
  }

  it('logs in, consents, and the relying party gets tokens for alice', async () => {
    const { verifier, state, nonce, context, page } = await startSignIn();
    // The consent page shows the client by name (escaped) and what it asks for.
    expect(await page.textContent('h1')).toBe('Orders <script> asks for access');
    expect(await page.locator('input[name=scope]').evaluateAll((inputs) => inputs.map((input) => input.getAttribute('value')))).toEqual([
      'openid',
      'offline',
      'orders.read',
    ]);
    await page.click('#accept');
    await page.waitForSelector('#done');
    await context.close();

    const callback = callbacks.at(-1)!;
    expect(callback.searchParams.get('state')).toBe(state);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()).toMatchObject({ sub: 'alice', preferred_username: 'alice', nonce });
    expect(tokens.scope).toBe('openid offline orders.read');
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(await oidc.fetchUserInfo(config, tokens.access_token, 'alice')).toMatchObject({ sub: 'alice', preferred_username: 'alice' });
  });

  it('denies, and the relying party receives rejected_consent_request with its state', async () => {
    const { state, context, page } = await startSignIn();
    await page.click('#deny');
    await page.waitForSelector('#done');
    await context.close();

    const callback = callbacks.at(-1)!;
    expect(callback.searchParams.get('error')).toBe('rejected_consent_request');
    expect(callback.searchParams.get('error_description')).toBe('alice denied the request');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.has('code')).toBe(false);
  });
});
