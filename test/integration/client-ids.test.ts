// Every client id the API accepts must stay usable through it: created, read, updated and deleted by the SDK, whose
// paths are encodeURIComponent(id) and pass through URL parsing (which resolves dot segments) on the way. Every id it
// refuses is refused in the body and in the path alike, with a 400 naming `id`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseApiError } from '../../src/sdk/errors.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { JSON_TYPE, expectManagementError, rawRequest, rootBearer } from './helpers.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~:@+-';
const SPECIALS = '._~:@+-';
const FORBIDDEN = [
  ' ',
  '/',
  '\\',
  '%',
  '?',
  '#',
  '"',
  "'",
  '<',
  '>',
  '[',
  ']',
  '{',
  '}',
  '|',
  '^',
  '`',
  '!',
  '$',
  '&',
  '(',
  ')',
  '*',
  ',',
  ';',
  '=',
  '\n',
  '\u0000',
  'é',
  '日',
];
const EDGE_CASES = [
  '.',
  '..',
  '...',
  '....',
  '%',
  '~',
  ':',
  '@',
  '+',
  '-',
  '_',
  '.a',
  'a.',
  '..a',
  'a..',
  '.a.',
  '.~.',
  '%2e',
  '%2E%2E',
  '.%2e',
  'a/b',
  '../a',
  '',
  ' ',
  'café',
  'x'.repeat(255),
  'x'.repeat(256),
  `.${'x'.repeat(254)}`,
  `..${'x'.repeat(253)}`,
  `${'x'.repeat(254)}.`,
  '.'.repeat(255),
];
// Fixed, so that a failure replays; GATEHOUSE_ID_SEED explores other ids.
const SEED = Number(process.env.GATEHOUSE_ID_SEED ?? 20_261_129);
const GENERATED = 300;

/** The rule, stated apart from the server's regex: what can be a path segment of its own and come back unchanged. */
function acceptable(id: string): boolean {
  return id.length >= 1 && id.length <= 255 && [...id].every((c) => ALPHABET.includes(c)) && id !== '.' && id !== '..';
}

/** mulberry32 */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mostly short ids heavy in dots and specials (where the edges are), some long ones around the 255 limit. */
function generatedIds(seed: number, count: number): string[] {
  const next = randomSource(seed);
  const pick = <T>(from: ArrayLike<T>): T => from[Math.floor(next() * from.length)]!;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const size = next();
    const length = size < 0.6 ? 1 + Math.floor(next() * 4) : size < 0.9 ? 5 + Math.floor(next() * 30) : 250 + Math.floor(next() * 10);
    let id = '';
    for (let j = 0; j < length; j++) {
      const r = next();
      id += r < 0.35 ? '.' : r < 0.6 ? pick(SPECIALS) : pick(ALPHABET);
    }
    if (next() < 0.15) {
      const at = Math.floor(next() * (id.length + 1));
      id = id.slice(0, at) + pick(FORBIDDEN) + id.slice(at);
    }
    ids.push(id);
  }
  return ids;
}

const candidates = [...new Set([...EDGE_CASES, ...generatedIds(SEED, GENERATED)])].filter((id) => id !== 'root');
const accepted = candidates.filter(acceptable);
const refused = candidates.filter((id) => !acceptable(id));

describe(`client ids through the SDK (seed ${SEED})`, () => {
  let t: TestServer;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    token = await rootBearer(t);
  });
  afterAll(async () => t?.close());

  it('generates both kinds', () => {
    expect(accepted.length).toBeGreaterThan(100);
    expect(refused.length).toBeGreaterThan(30);
  });

  it('creates, reads, updates and deletes every accepted id', async () => {
    const failures: string[] = [];
    for (const id of accepted) {
      try {
        expect((await t.root.createClient({ id, client_name: 'generated' })).id).toBe(id);
        expect(await t.root.getClient(id)).toMatchObject({ id, client_name: 'generated' });
        expect(await t.root.updateClient(id, { id, client_name: 'updated' })).toMatchObject({ id, client_name: 'updated' });
        expect(await t.root.getClient(id)).toMatchObject({ id, client_name: 'updated' });
        await t.root.deleteClient(id);
        expect(await t.root.findClient(id)).toBeUndefined();
      } catch (error) {
        failures.push(`${JSON.stringify(id)}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses every other id with a 400 naming id, in the body and in the path', async () => {
    const failures: string[] = [];
    for (const id of refused) {
      try {
        const error: unknown = await t.root.createClient({ id }).then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(error, 'the SDK create').toBeInstanceOf(GatehouseApiError);
        expect((error as GatehouseApiError).status).toBe(400);
        expect((error as GatehouseApiError).body).toMatchObject({ error: { details: expect.arrayContaining([expect.objectContaining({ field: 'id' })]) } });
        // The path exactly as sent: fetch or the SDK would resolve "." and ".." before the server saw them.
        const path = `/clients/${encodeURIComponent(id)}`;
        const authorization = `Bearer ${token}`;
        for (const response of [
          await rawRequest(t, 'GET', path, { headers: { authorization } }),
          await rawRequest(t, 'PUT', path, { headers: { authorization, 'content-type': JSON_TYPE }, body: '{}' }),
          await rawRequest(t, 'DELETE', path, { headers: { authorization } }),
        ]) {
          const refusal = await expectManagementError(response, 400);
          expect(refusal.details).toContainEqual(expect.objectContaining({ field: 'id' }));
        }
      } catch (error) {
        failures.push(`${JSON.stringify(id)}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
