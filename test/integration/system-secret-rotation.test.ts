import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/crypto/aead.js';
import { KeyedSecretHash } from '../../src/crypto/keyed-secret-hash.js';
import { deriveKey } from '../../src/crypto/keys.js';
import type { OAuth2Client } from '../../src/sdk/types.js';
import { DATABASES, freshDatabaseUrl, startTestServer, type TestServer } from '../support/server.js';
import { allRows, expectOAuthError, introspect, issueToken, rootBearer, secretHashOf, tokenRequest, type Credentials } from './helpers.js';

// SYSTEM_SECRET is rotated by listing the new secret first and the old one after it ("new,old"), restarting every
// replica, then dropping the old one. The database and its clients must come through with the servers restarted on
// the same database at each step.

const OLD = 'old-system-secret-0123456789abcdef';
const NEW = 'new-system-secret-0123456789abcdef';
const UNRELATED = 'unrelated-system-secret-0123456789';
const MINTED = /^gatehouse_cs_[A-Za-z0-9_-]{55}$/;
const FAST = /^\$hmac-sha256\$k=([A-Za-z0-9_-]+)\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
const SCRYPT = /^\$scrypt\$/;
const CHOSEN_SECRET = 'a-chosen-secret-that-does-not-depend-on-the-system-secret';

/** The key id the fast form names for a system secret, taken from a hash made under it. */
function keyIdOf(systemSecret: string): string {
  return FAST.exec(new KeyedSecretHash([deriveKey(systemSecret, 'secret-storage')]).hash('x'))![1]!;
}

async function keyIdStoredFor(t: TestServer, id: string): Promise<string> {
  const stored = await secretHashOf(t, id);
  expect(stored).toMatch(FAST);
  return FAST.exec(stored!)![1]!;
}

async function jwks(t: TestServer): Promise<unknown> {
  const response = await fetch(`${t.url}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  return response.json();
}

interface KeyRow {
  kid: string;
  public_jwk: string;
  private_jwk_sealed: string;
}

const keyRows = async (t: TestServer) => (await allRows(t, 'json_web_keys')) as unknown as KeyRow[];

/** The private JWK sealed in a row, opened with the key derived from one system secret (throws when it does not fit). */
const unseal = (row: KeyRow, systemSecret: string) => open(deriveKey(systemSecret, 'jwk-encryption'), row.private_jwk_sealed, row.kid);

async function createMachineClient(t: TestServer, input: { id: string; client_secret?: string }): Promise<Credentials> {
  const client: OAuth2Client = await t.root.createClient({ grant_types: ['client_credentials'], ...input });
  return { id: client.id, secret: client.client_secret! };
}

async function expectRefused(t: TestServer, credentials: Credentials): Promise<void> {
  await expectOAuthError(await tokenRequest(t, { credentials }), 401, 'invalid_client');
}

describe.each(DATABASES)('SYSTEM_SECRET rotation on %s', (kind) => {
  describe('old, then "new,old", then new alone, on one database', () => {
    let database: { url: string; cleanup: () => void };
    let t: TestServer | undefined;
    const server = () => t!;

    async function restart(systemSecret: string): Promise<void> {
      await t?.close();
      t = undefined;
      t = await startTestServer(kind, { SYSTEM_SECRET: systemSecret }, database.url);
    }

    // Made under old alone.
    let minted: Credentials;
    let mintedIdle: Credentials;
    let chosen: Credentials;
    let mintedUnderOldNotStored: string;
    let tokenUnderOld: string;
    let jwksUnderOld: unknown;
    let keysUnderOld: KeyRow[];
    // Made during the overlap.
    let mintedDuringOverlap: Credentials;
    let suppliedDuringOverlap: Credentials;
    let tokensDuringOverlap: string[];

    beforeAll(async () => {
      database = await freshDatabaseUrl(kind);
    });
    afterAll(async () => {
      await t?.close();
      database?.cleanup();
    });

    describe('under old', () => {
      beforeAll(async () => {
        await restart(OLD);
        minted = await createMachineClient(server(), { id: 'minted' });
        mintedIdle = await createMachineClient(server(), { id: 'minted-idle' });
        chosen = await createMachineClient(server(), { id: 'chosen', client_secret: CHOSEN_SECRET });
        mintedUnderOldNotStored = await server().root.mintClientSecret();
        tokenUnderOld = await issueToken(server(), minted);
        jwksUnderOld = await jwks(server());
        keysUnderOld = await keyRows(server());
      });

      it('stores minted secrets under the key id of old and the chosen secret under scrypt', async () => {
        expect(minted.secret).toMatch(MINTED);
        expect(await keyIdStoredFor(server(), minted.id)).toBe(keyIdOf(OLD));
        expect(await keyIdStoredFor(server(), mintedIdle.id)).toBe(keyIdOf(OLD));
        expect(await secretHashOf(server(), chosen.id)).toMatch(SCRYPT);
        expect(keyIdOf(OLD)).not.toBe(keyIdOf(NEW));
      });

      it('seals the ID-token signing key under old and issues prefixed tokens', async () => {
        expect(keysUnderOld).toHaveLength(1);
        expect(() => unseal(keysUnderOld[0]!, OLD)).not.toThrow();
        expect(tokenUnderOld).toMatch(/^gatehouse_at_/);
        expect(await introspect(server(), tokenUnderOld)).toMatchObject({ active: true, client_id: minted.id });
      });
    });

    describe('restarted with "new,old"', () => {
      beforeAll(async () => {
        await restart(`${NEW},${OLD}`);
      });

      it('still finds the token issued under old active', async () => {
        expect(await introspect(server(), tokenUnderOld)).toMatchObject({ active: true, client_id: minted.id });
      });

      it('publishes the same JWKS and has re-sealed the private key under new', async () => {
        expect(await jwks(server())).toEqual(jwksUnderOld);
        const keys = await keyRows(server());
        expect(keys).toHaveLength(1);
        const [before, after] = [keysUnderOld[0]!, keys[0]!];
        expect(after.kid).toBe(before.kid);
        expect(after.public_jwk).toBe(before.public_jwk);
        expect(after.private_jwk_sealed).not.toBe(before.private_jwk_sealed);
        expect(unseal(after, NEW)).toBe(unseal(before, OLD));
        expect(() => unseal(after, OLD)).toThrow();
      });

      it('authenticates the minted-secret client and re-hashes its secret under the key id of new', async () => {
        expect(await keyIdStoredFor(server(), minted.id)).toBe(keyIdOf(OLD));
        await issueToken(server(), minted);
        expect(await keyIdStoredFor(server(), minted.id)).toBe(keyIdOf(NEW));
        await issueToken(server(), minted);
        expect(await keyIdStoredFor(server(), minted.id)).toBe(keyIdOf(NEW));
      });

      it('authenticates the chosen-secret client, whose scrypt hash does not depend on SYSTEM_SECRET and is left as it was', async () => {
        const stored = await secretHashOf(server(), chosen.id);
        await issueToken(server(), chosen);
        expect(await secretHashOf(server(), chosen.id)).toBe(stored);
      });

      it('mints under new, and still recognises a secret minted under old when it is supplied now', async () => {
        mintedDuringOverlap = await createMachineClient(server(), { id: 'minted-during-overlap' });
        expect(await keyIdStoredFor(server(), mintedDuringOverlap.id)).toBe(keyIdOf(NEW));
        suppliedDuringOverlap = await createMachineClient(server(), { id: 'supplied-during-overlap', client_secret: mintedUnderOldNotStored });
        expect(await keyIdStoredFor(server(), suppliedDuringOverlap.id)).toBe(keyIdOf(NEW));
        await issueToken(server(), mintedDuringOverlap);
        await issueToken(server(), suppliedDuringOverlap);
      });

      it('issues new tokens', async () => {
        tokensDuringOverlap = [await issueToken(server(), minted), await issueToken(server(), chosen), await rootBearer(server())];
        for (const token of tokensDuringOverlap) {
          expect(token).toMatch(/^gatehouse_at_/);
          expect(await introspect(server(), token)).toMatchObject({ active: true });
        }
      });
    });

    describe('restarted with new alone', () => {
      beforeAll(async () => {
        await restart(NEW);
      });

      it('still authenticates the minted-secret client that authenticated during the overlap', async () => {
        await issueToken(server(), minted);
      });

      it('still authenticates the chosen-secret client', async () => {
        await issueToken(server(), chosen);
      });

      it('authenticates the client created during the overlap with a secret minted then', async () => {
        await issueToken(server(), mintedDuringOverlap);
      });

      it('authenticates the client created during the overlap with a secret minted under old before it', async () => {
        await issueToken(server(), suppliedDuringOverlap);
      });

      it('finds the tokens issued during the overlap active', async () => {
        for (const token of tokensDuringOverlap) expect(await introspect(server(), token)).toMatchObject({ active: true });
      });

      it('finds the token issued under old alone inactive (expected: its signature needs old, which is gone)', async () => {
        expect(await introspect(server(), tokenUnderOld)).toEqual({ active: false });
      });

      it('refuses a minted-secret client that never authenticated during the overlap (expected: its hash needs old until re-hashed)', async () => {
        expect(await keyIdStoredFor(server(), mintedIdle.id)).toBe(keyIdOf(OLD));
        await expectRefused(server(), mintedIdle);
      });

      it('publishes the same JWKS, its private key sealed under new', async () => {
        expect(await jwks(server())).toEqual(jwksUnderOld);
        const [key] = await keyRows(server());
        expect(unseal(key!, NEW)).toBe(unseal(keysUnderOld[0]!, OLD));
      });
    });
  });

  describe('start-up checks', () => {
    const databases: { cleanup: () => void }[] = [];
    afterAll(() => {
      for (const database of databases) database.cleanup();
    });

    async function database(): Promise<string> {
      const fresh = await freshDatabaseUrl(kind);
      databases.push(fresh);
      return fresh.url;
    }

    async function startAndStop(url: string, systemSecret: string): Promise<void> {
      const t = await startTestServer(kind, { SYSTEM_SECRET: systemSecret }, url);
      try {
        await rootBearer(t);
      } finally {
        await t.close();
      }
    }

    it('refuses to start with an unrelated SYSTEM_SECRET, alone or in a list, naming SYSTEM_SECRET', async () => {
      const url = await database();
      await startAndStop(url, OLD);
      await expect(startTestServer(kind, { SYSTEM_SECRET: UNRELATED }, url)).rejects.toThrow(/SYSTEM_SECRET/);
      await expect(startTestServer(kind, { SYSTEM_SECRET: `${NEW},${UNRELATED}` }, url)).rejects.toThrow(/SYSTEM_SECRET/);
      // The refusals changed nothing: the database still starts with its secret.
      await startAndStop(url, OLD);
    });

    it('rolls out in three steps, each able to go back one: "old,new", "new,old", "new"', async () => {
      const url = await database();
      await startAndStop(url, OLD);
      await startAndStop(url, `${OLD},${NEW}`);
      await startAndStop(url, OLD);
      await startAndStop(url, `${OLD},${NEW}`);
      await startAndStop(url, `${NEW},${OLD}`);
      await startAndStop(url, `${OLD},${NEW}`);
      await startAndStop(url, `${NEW},${OLD}`);
      await startAndStop(url, NEW);
      await startAndStop(url, `${NEW},${OLD}`);
    });

    it('refuses old alone once "new,old" re-sealed the signing keys, naming SYSTEM_SECRET and the remedy', async () => {
      const url = await database();
      await startAndStop(url, OLD);
      await startAndStop(url, `${NEW},${OLD}`);
      await expect(startTestServer(kind, { SYSTEM_SECRET: OLD }, url)).rejects.toThrow(
        /SYSTEM_SECRET: signing key .* is sealed under a system secret that is not configured/,
      );
      // Listing the new secret again is the remedy.
      await startAndStop(url, `${OLD},${NEW}`);
    });

    it('starts with "new,old" after the database saw new alone', async () => {
      const url = await database();
      await startAndStop(url, OLD);
      await startAndStop(url, `${NEW},${OLD}`);
      await startAndStop(url, NEW);
      await startAndStop(url, `${NEW},${OLD}`);
    });
  });
});
