// Failed client authentication is limited per client id and per source address: past the burst, 429 with Retry-After
// in the OAuth error format, before any hash is computed, while a credential that is known good keeps working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createClient, expectOAuthError, introspectRequest, machineClient, metricValue, tokenRequest, uniqueId, type Credentials } from './helpers.js';

const BURST = 3;
const wrong = (id: string): Credentials => ({ id, secret: 'a-wrong-secret-that-is-long-enough-to-pass' });

describe('limits on failed client authentication', () => {
  let t: TestServer;
  beforeAll(async () => {
    // A slow refill, so the limit holds for the whole test; refusals go out at once (holding them is tested below).
    t = await startTestServer('sqlite', {
      AUTH_FAILURE_BURST: String(BURST),
      AUTH_FAILURE_ADDRESS_BURST: '1000',
      AUTH_FAILURE_RATE: '0.01',
      AUTH_FAILURE_DELAY: 'off',
    });
  });
  afterAll(async () => t?.close());

  const scryptHashes = async () =>
    (await metricValue(t, 'gatehouse_client_secret_hashes_total', { scheme: 'scrypt', purpose: 'verify' })) +
    (await metricValue(t, 'gatehouse_client_secret_hashes_total', { scheme: 'scrypt', purpose: 'dummy' }));

  it('answers 401 for the burst, then 429 with Retry-After, without computing a hash', async () => {
    const victim = await machineClient(t, 'a.read');
    for (let i = 0; i < BURST; i++) await expectOAuthError(await tokenRequest(t, { credentials: wrong(victim.id) }), 401, 'invalid_client');
    const hashesBefore = await scryptHashes();
    const limited = await tokenRequest(t, { credentials: wrong(victim.id) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = await expectOAuthError(limited, 429, 'temporarily_unavailable');
    expect(body.error_description).toMatch(/Too many failed client authentications/);
    expect(await scryptHashes()).toBe(hashesBefore);
    expect(await metricValue(t, 'gatehouse_client_auth_throttled_total')).toBeGreaterThanOrEqual(1);
  });

  it('still lets the client with its minted secret in while its id is limited', async () => {
    const victim = await machineClient(t, 'b.read');
    for (let i = 0; i < BURST + 2; i++) await tokenRequest(t, { credentials: wrong(victim.id) });
    expect((await tokenRequest(t, { credentials: wrong(victim.id) })).status).toBe(429);
    const response = await tokenRequest(t, { credentials: victim, scope: 'b.read' });
    expect(response.status, await response.clone().text()).toBe(200);
  });

  it('still lets a chosen (scrypt) secret in while limited once it was verified before, and limits it otherwise', async () => {
    const chosen = { id: uniqueId('chosen'), secret: 'a-chosen-secret-of-forty-characters-xxxx' };
    await createClient(t, { id: chosen.id, client_secret: chosen.secret, grant_types: ['client_credentials'], scope: 'c.read' });
    expect((await tokenRequest(t, { credentials: chosen, scope: 'c.read' })).status).toBe(200);
    for (let i = 0; i < BURST; i++) await tokenRequest(t, { credentials: wrong(chosen.id) });
    expect((await tokenRequest(t, { credentials: chosen, scope: 'c.read' })).status).toBe(200);
    expect((await tokenRequest(t, { credentials: { ...chosen, secret: `${chosen.secret}-but-not-verified` } })).status).toBe(429);
  });

  it('counts concurrent guesses as they start: of ten at once, only the burst costs a hash', async () => {
    const victim = await machineClient(t, 'd.read');
    const before = await scryptHashes();
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        tokenRequest(t, { credentials: { id: victim.id, secret: `concurrent-wrong-secret-number-${i}-xxxxxxxx` } }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((status) => status === 401)).toHaveLength(BURST);
    expect(statuses.filter((status) => status === 429)).toHaveLength(10 - BURST);
    expect((await scryptHashes()) - before).toBe(BURST);
  });

  it("lets a chosen secret's first requests in together: ten at once share one hash, none is refused", async () => {
    const chosen = { id: uniqueId('together'), secret: 'a-chosen-secret-sent-by-ten-workers-at-once' };
    await createClient(t, { id: chosen.id, client_secret: chosen.secret, grant_types: ['client_credentials'], scope: 'e.read' });
    const before = await scryptHashes();
    const statuses = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(t, { credentials: chosen, scope: 'e.read' }).then((r) => r.status)));
    expect(statuses).toEqual(Array(10).fill(200));
    expect((await scryptHashes()) - before).toBe(1);
  });

  it('does not let cheap failed checks drain a bucket: a wrong minted secret against a minted client costs no token', async () => {
    const victim = await machineClient(t, 'e.read');
    const attacker = await machineClient(t, 'e.read');
    // The attacker's own genuine minted secret, presented with the victim's id, many times.
    for (let i = 0; i < BURST * 3; i++)
      await expectOAuthError(await tokenRequest(t, { credentials: { id: victim.id, secret: attacker.secret } }), 401, 'invalid_client');
    // The victim's bucket is untouched: a wrong non-minted secret is still answered 401, not 429.
    await expectOAuthError(await tokenRequest(t, { credentials: wrong(victim.id) }), 401, 'invalid_client');
  });

  it('answers an id no client can have at once, without spending the limit', async () => {
    const impossible = `${'x'.repeat(300)}`;
    for (let i = 0; i < BURST + 2; i++) await expectOAuthError(await tokenRequest(t, { credentials: wrong(impossible) }), 401, 'invalid_client');
  });

  it('limits unknown client ids too, and introspection with Basic credentials', async () => {
    const unknown = uniqueId('nobody');
    for (let i = 0; i < BURST; i++) await expectOAuthError(await tokenRequest(t, { credentials: wrong(unknown) }), 401, 'invalid_client');
    await expectOAuthError(await tokenRequest(t, { credentials: wrong(unknown) }), 429, 'temporarily_unavailable');
    const limited = await introspectRequest(t, { token: 'whatever' }, wrong(unknown));
    await expectOAuthError(limited, 429, 'temporarily_unavailable');
  });
});

describe('limits on failed client authentication behind a trusted proxy', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', {
      AUTH_FAILURE_BURST: '1000',
      AUTH_FAILURE_ADDRESS_BURST: '1',
      AUTH_FAILURE_RATE: '0.01',
      AUTH_FAILURE_DELAY: 'off',
      TRUST_PROXY: '127.0.0.1',
    });
  });
  afterAll(async () => t?.close());

  it('counts the caller named by X-Forwarded-For, so callers behind one ingress are not limited together', async () => {
    const guesser = { 'x-forwarded-for': '203.0.113.7' };
    await expectOAuthError(await tokenRequest(t, { credentials: wrong(uniqueId('a')), headers: guesser }), 401, 'invalid_client');
    await expectOAuthError(await tokenRequest(t, { credentials: wrong(uniqueId('b')), headers: guesser }), 429, 'temporarily_unavailable');
    await expectOAuthError(await tokenRequest(t, { credentials: wrong(uniqueId('c')), headers: { 'x-forwarded-for': '198.51.100.4' } }), 401, 'invalid_client');
  });
});

describe('limits on failed client authentication per source address', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', {
      AUTH_FAILURE_BURST: '1000',
      AUTH_FAILURE_ADDRESS_BURST: String(BURST),
      AUTH_FAILURE_RATE: '0.01',
      AUTH_FAILURE_DELAY: 'off',
    });
  });
  afterAll(async () => t?.close());

  it('limits an address that guesses across many client ids', async () => {
    for (let i = 0; i < BURST; i++) await tokenRequest(t, { credentials: { id: uniqueId('spray'), secret: 'a-wrong-secret-that-is-long-enough-to-pass' } });
    const response = await tokenRequest(t, { credentials: { id: uniqueId('spray'), secret: 'a-wrong-secret-that-is-long-enough-to-pass' } });
    const body = await expectOAuthError(response, 429, 'temporarily_unavailable');
    expect(body.error_description).toMatch(/source address/);
    expect(await metricValue(t, 'gatehouse_client_auth_throttled_total', { by: 'address' })).toBe(1);
  });
});

describe('holding the answers of throttled client authentications', () => {
  let t: TestServer;
  beforeAll(async () => {
    // A delay far longer than the test, so only the server's close can answer a held refusal in time.
    t = await startTestServer('sqlite', { AUTH_FAILURE_BURST: '1', AUTH_FAILURE_RATE: '0.001', AUTH_FAILURE_DELAY: '60s' });
  });
  let closedByTest = false;
  afterAll(async () => {
    if (!closedByTest) await t?.close();
  });

  it('holds a refusal while a good credential of the limited id is served at once, and answers it 429 on shutdown', async () => {
    const victim = await machineClient(t, 'h.read');
    await expectOAuthError(await tokenRequest(t, { credentials: wrong(victim.id) }), 401, 'invalid_client');
    const refused = tokenRequest(t, { credentials: wrong(victim.id) });
    await expect.poll(() => metricValue(t, 'gatehouse_client_auth_refusals_held'), { timeout: 5000 }).toBe(1);

    const served = await tokenRequest(t, { credentials: victim, scope: 'h.read' });
    expect(served.status, await served.clone().text()).toBe(200);
    expect(await metricValue(t, 'gatehouse_client_auth_refusals_held')).toBe(1);

    closedByTest = true;
    await t.close();
    const response = await refused;
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectOAuthError(response, 429, 'temporarily_unavailable');
  });
});
