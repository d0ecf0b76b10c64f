import { describe, expect, it } from 'vitest';
import { LIFESPAN_FIELDS, type LifespanField } from '../../src/contract/client-settings.js';
import { ClientCorsOrigins } from '../../src/server/client/cors-origins.js';
import { audienceCovers } from '../../src/server/oauth2/audience.js';
import { lifespansOf, longestLifespanOf } from '../../src/server/oauth2/lifespans.js';
import { aClient } from '../support/clients.js';

describe('audienceCovers (Hydra matching)', () => {
  it.each<[string, string, boolean]>([
    ['billing', 'billing', true],
    ['billing', 'billing/x', false],
    ['https://api.example.com', 'https://api.example.com/orders', true],
    ['https://api.example.com/v1', 'https://api.example.com/v1/', true],
    ['https://api.example.com/v1/', 'https://api.example.com/v1/orders', true],
    ['https://api.example.com/v1', 'https://api.example.com/v10', false],
    ['https://api.example.com/v1', 'https://api.example.com/v1/../admin', false],
    ['https://api.example.com', 'http://api.example.com', false],
    ['https://api.example.com', 'https://api.example.com.evil.net', false],
  ])('%s covers %s: %s', (allowed, requested, covered) => {
    expect(audienceCovers(allowed, requested)).toBe(covered);
  });
});

describe('per-client lifespans', () => {
  const server = { accessTokenMs: 3_600_000, refreshTokenMs: 7_200_000, idTokenMs: 1_800_000, authorizationCodeMs: 600_000, idTokenCeilingMs: 3_600_000 };
  const withLifespans = (set: Partial<Record<LifespanField, string>>) => aClient({ id: 'c', ...set });

  it("takes the client's lifespan for its grant only, the server's elsewhere", () => {
    const client = withLifespans({ refresh_token_grant_access_token_lifespan: '5m', authorization_code_grant_refresh_token_lifespan: '48h' });
    expect(lifespansOf(client, 'refresh_token', server)).toEqual({ accessTokenMs: 300_000, refreshTokenMs: 7_200_000, idTokenMs: 1_800_000 });
    expect(lifespansOf(client, 'authorization_code', server)).toEqual({ accessTokenMs: 3_600_000, refreshTokenMs: 172_800_000, idTokenMs: 1_800_000 });
  });

  it('never lets an ID token outlive the publication of its key, and remembers revocations as long as anything lives', () => {
    const client = withLifespans({ implicit_grant_id_token_lifespan: '3h', client_credentials_grant_access_token_lifespan: '100h' });
    expect(lifespansOf(client, 'implicit', server).idTokenMs).toBe(3_600_000);
    expect(longestLifespanOf(client, server)).toBe(360_000_000);
    expect(longestLifespanOf(undefined, server)).toBe(7_200_000);
  });

  it('maps every field to a grant', () => {
    const all = withLifespans(Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, '9h'])));
    expect(longestLifespanOf(all, server)).toBe(9 * 3_600_000);
  });
});

describe('ClientCorsOrigins', () => {
  const client = (id: string, origins: string[]) => ({ ...aClient({ id, allowed_cors_origins: origins }), secretHash: null });

  it("keeps an origin while any client lists it, and a change made during a reload over the table's older snapshot", async () => {
    let release: (rows: { id: string; origins: string[] }[]) => void = () => {};
    const origins = new ClientCorsOrigins(
      () => new Promise((resolve) => (release = resolve)),
      60_000,
      () => {},
    );
    origins.saved(client('a', ['https://x.example']));
    origins.saved(client('b', ['https://x.example']));
    origins.deleted('a');
    expect(origins.has('https://x.example')).toBe(true);

    const reload = origins.reload();
    origins.saved(client('c', ['https://y.example']));
    origins.deleted('b');
    release([{ id: 'b', origins: ['https://x.example'] }]);
    await reload;
    expect(origins.has('https://y.example')).toBe(true);
    expect(origins.has('https://x.example')).toBe(false);
  });
});
