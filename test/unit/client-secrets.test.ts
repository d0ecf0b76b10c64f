import { describe, expect, it } from 'vitest';
import { KeyedSecretHash, isKeyedHash } from '../../src/crypto/keyed-secret-hash.js';
import { Keyring } from '../../src/crypto/keys.js';
import { SecretMinter } from '../../src/crypto/minted-secret.js';
import { hashSecret, type ScryptParams } from '../../src/crypto/secret-hash.js';
import { VerifiedCredentialCache } from '../../src/server/client/credential-cache.js';
import { ClientSecrets } from '../../src/server/client/secrets.js';

// Each scrypt at the real cost takes 100-250 ms: the tests that need one share it where they can, and a secret
// stored under scrypt only to be found there uses cheap parameters (verification reads them from the stored string).
const CHEAP: ScryptParams = { logN: 10, r: 8, p: 1 };
const OLD = 'the-old-system-secret-value';
const NEW = 'the-new-system-secret-value';
const CHOSEN = 'a chosen client secret, long enough';

interface Setup {
  secrets: ClientSecrets;
  minter: SecretMinter;
  cache: VerifiedCredentialCache;
  keyring: Keyring;
  /** Every hash computed, as "scheme/purpose", in order. */
  hashes: string[];
}

function clientSecrets(systemSecret: string): Setup {
  const keyring = new Keyring(systemSecret);
  const cache = new VerifiedCredentialCache(keyring.primary('credential-cache'), 100);
  const minter = new SecretMinter(keyring.all('secret-check'));
  const hashes: string[] = [];
  const secrets = new ClientSecrets(minter, new KeyedSecretHash(keyring.all('secret-storage')), cache, (scheme, purpose) =>
    hashes.push(`${scheme}/${purpose}`),
  );
  return { secrets, minter, cache, keyring, hashes };
}

const { secrets, minter, cache, hashes } = clientSecrets('unit-test-system-secret');

/** The same secret with its last (check value) character changed: the right shape, a wrong check value. */
const forge = (secret: string) => `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
const keyIdOf = (stored: string) => /^\$hmac-sha256\$k=([^$]+)\$/.exec(stored)?.[1];

describe('ClientSecrets', () => {
  it('mints secrets it recognises, each one different', () => {
    const minted = Array.from({ length: 20 }, () => secrets.mint());
    expect(new Set(minted).size).toBe(20);
    for (const secret of minted) {
      expect(secret).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);
      expect(minter.isMinted(secret)).toBe(true);
      expect(minter.isMinted(forge(secret))).toBe(false);
    }
    expect(minter.isMinted(CHOSEN)).toBe(false);
  });

  describe('a minted secret', () => {
    it('is protected under the keyed hash, which verifies it and nothing else', async () => {
      const secret = secrets.mint();
      const stored = await secrets.protect(secret);
      expect(isKeyedHash(stored)).toBe(true);
      expect(stored).toMatch(/^\$hmac-sha256\$k=[A-Za-z0-9_-]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      expect(stored).not.toContain(secret);
      expect(await secrets.verify('client-a', secret, stored)).toStrictEqual({ verified: true });
      expect(await secrets.verify('client-a', secret, stored)).toStrictEqual({ verified: true });
      expect(await secrets.verify('client-a', secrets.mint(), stored)).toStrictEqual({ verified: false });
    });

    it('is protected differently each time (salted)', async () => {
      const secret = secrets.mint();
      const [a, b] = await Promise.all([secrets.protect(secret), secrets.protect(secret)]);
      expect(a).not.toBe(b);
      expect((await secrets.verify('client-a', secret, a)).verified).toBe(true);
      expect((await secrets.verify('client-a', secret, b)).verified).toBe(true);
    });

    it('stored under scrypt (before minting existed) verifies and comes with its keyed form, which then verifies', async () => {
      const secret = secrets.mint();
      const stored = await hashSecret(secret, CHEAP);
      const check = await secrets.verify('client-b', secret, stored);
      expect(check.verified).toBe(true);
      expect(isKeyedHash(check.rehashed!)).toBe(true);
      expect(check.rehashed).not.toContain(secret);
      expect(await secrets.verify('client-b', secret, check.rehashed!)).toStrictEqual({ verified: true });
      // A wrong minted secret against the scrypt hash: refused, and no keyed form offered.
      expect(await secrets.verify('client-b', secrets.mint(), stored)).toStrictEqual({ verified: false });
    });

    it('that failed its check value is protected with scrypt, as is one minted under another system secret', async () => {
      const forged = forge(secrets.mint());
      const foreign = clientSecrets('another-system-secret-value').secrets.mint();
      expect(minter.isMinted(foreign)).toBe(false);
      const [forgedStored, foreignStored] = await Promise.all([secrets.protect(forged), secrets.protect(foreign)]);
      expect(forgedStored).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
      expect(foreignStored).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
      expect(isKeyedHash(forgedStored)).toBe(false);
    });
  });

  describe('a chosen secret', () => {
    it('is protected with scrypt at the OWASP cost and verifies, once slowly and then from the cache', async () => {
      const stored = await secrets.protect(CHOSEN);
      expect(stored).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
      expect(cache.knownOrBeingVerified('client-c', CHOSEN, stored)).toBe(false);
      expect(await secrets.verify('client-c', CHOSEN, stored)).toStrictEqual({ verified: true });
      expect(cache.knownOrBeingVerified('client-c', CHOSEN, stored)).toBe(true);
      expect(await secrets.verify('client-c', CHOSEN, stored)).toStrictEqual({ verified: true });
    });

    it('stored under scrypt is refused when wrong, and never offered a keyed form', async () => {
      const stored = await hashSecret(CHOSEN, CHEAP);
      expect(await secrets.verify('client-d', CHOSEN, stored)).toStrictEqual({ verified: true });
      expect(await secrets.verify('client-d', `${CHOSEN}!`, stored)).toStrictEqual({ verified: false });
      expect(cache.knownOrBeingVerified('client-d', `${CHOSEN}!`, stored)).toBe(false);
    });

    it('never verifies against a keyed hash, and costs a scrypt like an unknown client', async () => {
      const secret = secrets.mint();
      const stored = await secrets.protect(secret);
      hashes.length = 0;
      expect(await secrets.verify('client-e', CHOSEN, stored)).toStrictEqual({ verified: false });
      expect(hashes).toEqual(['hmac-sha256/verify', 'scrypt/dummy']);
      // Nor does the minted secret itself with its check value altered.
      hashes.length = 0;
      expect(await secrets.verify('client-e', forge(secret), stored)).toStrictEqual({ verified: false });
      expect(hashes).toEqual(['hmac-sha256/verify', 'scrypt/dummy']);
      // Another minted secret is refused after the one HMAC, as an unknown client with it would be.
      hashes.length = 0;
      expect(await secrets.verify('client-e', secrets.mint(), stored)).toStrictEqual({ verified: false });
      expect(hashes).toEqual(['hmac-sha256/verify']);
    });
  });

  describe('for an unknown client', () => {
    it('verifyUnknown costs one HMAC for a minted secret, as a real keyed check would', async () => {
      hashes.length = 0;
      await secrets.verifyUnknown(secrets.mint());
      expect(hashes).toEqual(['hmac-sha256/dummy']);
    });

    it('verifyUnknown costs one scrypt for a secret that is not minted, as a real scrypt check would', async () => {
      hashes.length = 0;
      await secrets.verifyUnknown(forge(secrets.mint()));
      await secrets.verifyUnknown(CHOSEN);
      expect(hashes).toEqual(['scrypt/dummy', 'scrypt/dummy']);
    });
  });

  it('forgets the cached verifications of one client only', async () => {
    const stored = await hashSecret(CHOSEN, CHEAP);
    await secrets.verify('client-f', CHOSEN, stored);
    await secrets.verify('client-g', CHOSEN, stored);
    expect(cache.knownOrBeingVerified('client-f', CHOSEN, stored)).toBe(true);
    secrets.forget('client-f');
    expect(cache.knownOrBeingVerified('client-f', CHOSEN, stored)).toBe(false);
    expect(cache.knownOrBeingVerified('client-g', CHOSEN, stored)).toBe(true);
  });

  describe('across a rotation of SYSTEM_SECRET', () => {
    const before = clientSecrets(OLD).secrets;
    const during = clientSecrets(`${NEW},${OLD}`).secrets;
    const after = clientSecrets(NEW).secrets;

    it('a secret minted and hashed under the old secret verifies with [new, old] and is rehashed under the new one', async () => {
      const secret = before.mint();
      const stored = await before.protect(secret);
      const check = await during.verify('client-h', secret, stored);
      expect(check.verified).toBe(true);
      expect(isKeyedHash(check.rehashed!)).toBe(true);
      expect(keyIdOf(check.rehashed!)).not.toBe(keyIdOf(stored));
      expect(keyIdOf(check.rehashed!)).toBe(keyIdOf(await after.protect(after.mint())));
      expect(await during.verify('client-h', secret, check.rehashed!)).toStrictEqual({ verified: true });
    });

    it('a secret minted under [new, old] is hashed under the new secret and not rehashed', async () => {
      const secret = during.mint();
      const stored = await during.protect(secret);
      expect(keyIdOf(stored)).toBe(keyIdOf(await after.protect(after.mint())));
      expect(await during.verify('client-i', secret, stored)).toStrictEqual({ verified: true });
      expect(await after.verify('client-i', secret, stored)).toStrictEqual({ verified: true });
    });

    it('a secret minted under the old secret but stored under scrypt moves to the keyed form of the new one', async () => {
      const secret = before.mint();
      const stored = await hashSecret(secret, CHEAP);
      const check = await during.verify('client-j', secret, stored);
      expect(check.verified).toBe(true);
      expect(keyIdOf(check.rehashed!)).toBe(keyIdOf(await after.protect(after.mint())));
    });
  });
});
