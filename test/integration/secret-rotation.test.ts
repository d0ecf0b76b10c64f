// Rotating a client secret with a grace period (a Gatehouse extension of PUT /clients/{id}): the replaced secret keeps
// working until the grace period ends, and not a moment longer; without the extension Hydra's behaviour holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { introspect, rootBearer, sleep, tokenRequest, type Credentials } from './helpers.js';

const CHOSEN = 'a-secret-a-person-chose-and-typed-in-0001';
const CHOSEN_TOO = 'another-secret-a-person-chose-and-typed-02';

describe.each(DATABASES)('client secret rotation with a grace period on %s', (kind) => {
  let t: TestServer;
  let bearer: string;

  beforeAll(async () => {
    t = await startTestServer(kind);
    bearer = await rootBearer(t);
  });
  afterAll(async () => t?.close());

  const put = (id: string, body: Record<string, unknown>) =>
    fetch(`${t.url}/clients/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const post = (body: Record<string, unknown>) =>
    fetch(`${t.url}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const client = { grant_types: ['client_credentials'], scope: 'read' };
  const status = async (credentials: Credentials) => (await tokenRequest(t, { credentials, scope: 'read' })).status;
  const token = async (credentials: Credentials) =>
    ((await (await tokenRequest(t, { credentials, scope: 'read' })).json()) as { access_token: string }).access_token;
  const stored = (id: string) => t.server.database.db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const authentications = async (secret: 'current' | 'previous') => {
    const line = (await (await fetch(`${t.url}/metrics`)).text())
      .split('\n')
      .find((l) => l.startsWith(`gatehouse_client_authentications_total{secret="${secret}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  async function created(body: Record<string, unknown> = {}) {
    const response = await post({ ...client, ...body });
    expect(response.status).toBe(201);
    const { id, client_secret } = (await response.json()) as { id: string; client_secret: string };
    return { id, secret: client_secret };
  }

  it('keeps the replaced secret valid beside the new one during the grace period, and says which one authenticated', async () => {
    const { id, secret: old } = await created();
    const fresh = await t.root.mintClientSecret();
    const before = Date.now();
    const response = await put(id, { ...client, client_secret: fresh, client_secret_grace_period: 60 });
    expect(response.status).toBe(200);
    const answered = (await response.json()) as { client_secret: string; previous_client_secret_expires_at: number };
    expect(answered.client_secret).toBe(fresh);
    expect(answered.previous_client_secret_expires_at).toBeGreaterThanOrEqual(Math.floor(before / 1000) + 60);
    expect(answered.previous_client_secret_expires_at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 60);

    const previousBefore = await authentications('previous');
    const currentBefore = await authentications('current');
    expect(await introspect(t, await token({ id, secret: old }))).toMatchObject({ active: true, client_secret_used: 'previous' });
    expect(await introspect(t, await token({ id, secret: fresh }))).toMatchObject({ active: true, client_secret_used: 'current' });
    expect(await authentications('previous')).toBe(previousBefore + 1);
    // The root client's introspection call authenticates too.
    expect(await authentications('current')).toBeGreaterThan(currentBefore);

    // Both minted, so both stored under the fast keyed hash; neither in plain text.
    const row = await stored(id);
    expect(row.secret_hash).toMatch(/^\$hmac-sha256\$/);
    expect(row.previous_secret_hash).toMatch(/^\$hmac-sha256\$/);
    expect(JSON.stringify(row)).not.toContain(old);
    expect(JSON.stringify(row)).not.toContain(fresh);

    // Reading the client says until when; an update without a new secret keeps the previous one.
    const read = (await (await fetch(`${t.url}/clients/${id}`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as Record<string, unknown>;
    expect(read.previous_client_secret_expires_at).toBe(answered.previous_client_secret_expires_at);
    expect((await put(id, { ...client, client_name: 'renamed' })).status).toBe(200);
    expect(await status({ id, secret: old })).toBe(200);
  });

  it('changes nothing when the secret sent is the one the client has, unless a grace period comes with it: then the previous secret ends that long from now', async () => {
    for (const kindOfSecret of ['minted', 'chosen'] as const) {
      const { id, secret: old } = await created(kindOfSecret === 'chosen' ? { client_secret: CHOSEN } : {});
      const fresh = kindOfSecret === 'chosen' ? CHOSEN_TOO : await t.root.mintClientSecret();
      const rotated = (await (await put(id, { ...client, client_secret: fresh, client_secret_grace_period: 60 })).json()) as Record<string, unknown>;
      const hashBefore = (await stored(id)).secret_hash;
      // What a caller holding the new secret does when it pushes it again.
      const again = await put(id, { ...client, client_secret: fresh });
      expect(again.status).toBe(200);
      expect(((await again.json()) as Record<string, unknown>).previous_client_secret_expires_at).toBe(rotated.previous_client_secret_expires_at);
      expect((await stored(id)).secret_hash).toBe(hashBefore);
      expect(await status({ id, secret: old })).toBe(200);
      expect(await status({ id, secret: fresh })).toBe(200);
      // With a grace period: the previous secret's end moves to that long from now (a rotation shortening its hold).
      const before = Math.floor(Date.now() / 1000);
      const shortened = (await (await put(id, { ...client, client_secret: fresh, client_secret_grace_period: 5 })).json()) as Record<string, number>;
      expect(shortened.previous_client_secret_expires_at).toBeGreaterThanOrEqual(before + 5);
      expect(shortened.previous_client_secret_expires_at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 5);
      expect((await stored(id)).secret_hash).toBe(hashBefore);
      expect(await status({ id, secret: old })).toBe(200);
      // A longer grace period does not extend it, and a previous secret cannot be named beside the current one.
      const extended = (await (await put(id, { ...client, client_secret: fresh, client_secret_grace_period: 3600 })).json()) as Record<string, number>;
      expect(extended.previous_client_secret_expires_at).toBe(shortened.previous_client_secret_expires_at);
      const named = await put(id, { ...client, client_secret: fresh, client_secret_grace_period: 60, previous_client_secret: `${CHOSEN_TOO}-3` });
      expect(named.status).toBe(400);
      expect(((await named.json()) as { error: { reason: string } }).error.reason).toContain('previous_client_secret comes with a new client_secret');
    }
  });

  it('limits guesses at a client mid-rotation like any other: a genuine minted secret of another client still spends a token before an scrypt', async () => {
    // Current secret minted (keyed hash), previous one chosen (scrypt).
    const { id } = await created({ client_secret: CHOSEN });
    expect((await put(id, { ...client, client_secret: await t.root.mintClientSecret(), client_secret_grace_period: 600 })).status).toBe(200);
    const foreign = await t.root.mintClientSecret();
    // Ten failures a client id are allowed at once, one more a second after that (each guess costs an scrypt here).
    const statuses: number[] = [];
    while (statuses.length < 30 && !statuses.includes(429)) statuses.push(await status({ id, secret: foreign }));
    expect(statuses).toContain(429);
    expect(statuses.filter((code) => code === 401).length).toBeGreaterThanOrEqual(10);
  });

  it('leaves every secret answered with a 200 working when two rotations of one client race', async () => {
    for (let round = 0; round < 3; round++) {
      const { id } = await created({ client_secret: CHOSEN });
      const first = `${CHOSEN_TOO}-first-${round}`;
      const second = `${CHOSEN_TOO}-second-${round}`;
      // Both hash a chosen secret with scrypt, so each writes what it computed from the row it read before the other wrote.
      const answers = await Promise.all([
        put(id, { ...client, client_secret: first, client_secret_grace_period: 60 }),
        put(id, { ...client, client_secret: second, client_secret_grace_period: 600 }),
      ]);
      const accepted = [first, second].filter((_, index) => answers[index]!.status === 200);
      expect(answers.map((answer) => answer.status).every((code) => code === 200 || code === 409)).toBe(true);
      expect(accepted.length).toBeGreaterThanOrEqual(1);
      for (const secret of accepted) expect(await status({ id, secret }), `round ${round}: ${secret}`).toBe(200);
    }
  });

  it('refuses the replaced secret at once without a grace period, as Hydra does', async () => {
    const { id, secret: old } = await created();
    const response = await put(id, { ...client, client_secret: await t.root.mintClientSecret() });
    expect(response.status).toBe(200);
    expect((await response.json()) as object).not.toHaveProperty('previous_client_secret_expires_at');
    expect(await status({ id, secret: old })).toBe(401);
  });

  it('refuses the previous secret once the grace period is over, also one the credential cache verified before', async () => {
    // A chosen secret is stored under scrypt, whose verifications the credential cache remembers.
    const { id } = await created({ client_secret: CHOSEN });
    expect(await status({ id, secret: CHOSEN })).toBe(200);
    expect((await put(id, { ...client, client_secret: CHOSEN_TOO, client_secret_grace_period: 1 })).status).toBe(200);
    expect((await stored(id)).previous_secret_hash).toMatch(/^\$scrypt\$/);
    expect(await status({ id, secret: CHOSEN })).toBe(200);
    await sleep(1100);
    expect(await status({ id, secret: CHOSEN })).toBe(401);
    expect(await status({ id, secret: CHOSEN_TOO })).toBe(200);
    const read = (await (await fetch(`${t.url}/clients/${id}`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as Record<string, unknown>;
    expect(read).not.toHaveProperty('previous_client_secret_expires_at');
  });

  it('keeps the secret named in previous_client_secret instead of the stored one (to finish an interrupted rotation)', async () => {
    const { id, secret: held } = await created();
    // A rotation whose new secret was lost before anyone wrote it down: the application still holds `held`.
    const lost = await t.root.mintClientSecret();
    expect((await put(id, { ...client, client_secret: lost, client_secret_grace_period: 60 })).status).toBe(200);
    const next = await t.root.mintClientSecret();
    expect((await put(id, { ...client, client_secret: next, client_secret_grace_period: 60, previous_client_secret: held })).status).toBe(200);
    expect(await status({ id, secret: held })).toBe(200);
    expect(await status({ id, secret: next })).toBe(200);
    expect(await status({ id, secret: lost })).toBe(401);
  });

  it('registers a client mid-rotation with the previous secret named', async () => {
    const previous = await t.root.mintClientSecret();
    const { id, secret } = await created({ client_secret: await t.root.mintClientSecret(), client_secret_grace_period: 60, previous_client_secret: previous });
    expect(await status({ id, secret })).toBe(200);
    expect(await status({ id, secret: previous })).toBe(200);
  });

  it.each([
    ['a grace period without a new secret', { client_secret_grace_period: 60 }, 'client_secret_grace_period: needs a new client_secret'],
    [
      'a previous secret without a grace period',
      { client_secret: CHOSEN, previous_client_secret: CHOSEN_TOO },
      'previous_client_secret: needs client_secret_grace_period',
    ],
    [
      'a previous secret equal to the new one',
      { client_secret: CHOSEN, client_secret_grace_period: 60, previous_client_secret: CHOSEN },
      'previous_client_secret: must differ',
    ],
    [
      'a grace period over 30 days',
      { client_secret: CHOSEN, client_secret_grace_period: 2_592_001 },
      'client_secret_grace_period: must be at most 2592000 seconds',
    ],
    ['a grace period of 0', { client_secret: CHOSEN, client_secret_grace_period: 0 }, 'client_secret_grace_period: must be at least 1 second'],
    [
      'a short previous secret',
      { client_secret: CHOSEN, client_secret_grace_period: 60, previous_client_secret: 'short' },
      'previous_client_secret: must be at least 16',
    ],
  ])('refuses %s with a 400 naming the field', async (_case, body, reason) => {
    const { id } = await created();
    const response = await put(id, { ...client, ...body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { reason: string } }).error.reason).toContain(reason);
  });

  it('refuses a grace period on create without the secret to keep', async () => {
    const response = await post({ ...client, client_secret: CHOSEN, client_secret_grace_period: 60 });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { reason: string } }).error.reason).toMatch(/no secret to keep valid: name it in previous_client_secret/);
  });
});
