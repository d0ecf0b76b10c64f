import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VerifiedCredentialCache } from '../../src/server/client/credential-cache.js';

const key = createSecretKey(randomBytes(32));
const HASH = '$scrypt$ln=14,r=8,p=5$salt$hash';

describe('VerifiedCredentialCache', () => {
  it('knows a remembered (id, secret, stored hash) and nothing else', () => {
    const cache = new VerifiedCredentialCache(key, 10);
    expect(cache.knownOrBeingVerified('a', 's', HASH)).toBe(false);
    cache.remember('a', 's', HASH);
    expect(cache.knownOrBeingVerified('a', 's', HASH)).toBe(true);
    expect(cache.knownOrBeingVerified('a', 'wrong', HASH)).toBe(false);
    expect(cache.knownOrBeingVerified('b', 's', HASH)).toBe(false);
  });

  it('is bound to the stored hash: after a secret change or re-creation the old entry never matches', () => {
    const cache = new VerifiedCredentialCache(key, 10);
    cache.remember('a', 's', HASH);
    expect(cache.knownOrBeingVerified('a', 's', `${HASH}-rotated`)).toBe(false);
  });

  it('does not confuse id and secret boundaries', () => {
    const cache = new VerifiedCredentialCache(key, 10);
    cache.remember('ab', 'c', HASH);
    expect(cache.knownOrBeingVerified('a', 'bc', HASH)).toBe(false);
  });

  it('forgets every entry of one client and only that client', () => {
    const cache = new VerifiedCredentialCache(key, 10);
    cache.remember('a', 's1', HASH);
    cache.remember('a', 's2', HASH);
    cache.remember('b', 's1', HASH);
    cache.forget('a');
    expect(cache.knownOrBeingVerified('a', 's1', HASH)).toBe(false);
    expect(cache.knownOrBeingVerified('a', 's2', HASH)).toBe(false);
    expect(cache.knownOrBeingVerified('b', 's1', HASH)).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('is bounded, evicting the least recently used entry', () => {
    const cache = new VerifiedCredentialCache(key, 3);
    cache.remember('a', 's', HASH);
    cache.remember('b', 's', HASH);
    cache.remember('c', 's', HASH);
    expect(cache.knownOrBeingVerified('a', 's', HASH)).toBe(true); // a is now the most recently used
    cache.remember('d', 's', HASH); // evicts b
    expect(cache.size).toBe(3);
    expect(cache.knownOrBeingVerified('b', 's', HASH)).toBe(false);
    for (const id of ['a', 'c', 'd']) expect(cache.knownOrBeingVerified(id, 's', HASH)).toBe(true);
    for (let i = 0; i < 100; i++) cache.remember(`x${i}`, 's', HASH);
    expect(cache.size).toBe(3);
  });

  it('says which (id, secret) pairs may be known under some stored hash, and forgets them with their entries', async () => {
    const cache = new VerifiedCredentialCache(key, 2);
    expect(cache.mayKnow('a', 's')).toBe(false);
    cache.remember('a', 's', HASH);
    cache.remember('a', 's', `${HASH}-other`);
    expect(cache.mayKnow('a', 's')).toBe(true);
    expect(cache.mayKnow('a', 'other')).toBe(false);
    expect(cache.mayKnow('b', 's')).toBe(false);
    // Evicting one of the two entries leaves the pair known; forgetting the client drops it.
    cache.remember('c', 's', HASH);
    expect(cache.mayKnow('a', 's')).toBe(true);
    cache.forget('a');
    expect(cache.mayKnow('a', 's')).toBe(false);
    // A check under way counts as well, until it settles refused.
    let refuse: (value: boolean) => void = () => {};
    const answer = cache.verify('d', 'x', HASH, () => new Promise<boolean>((resolve) => (refuse = resolve)));
    expect(cache.mayKnow('d', 'x')).toBe(true);
    refuse(false);
    await answer;
    expect(cache.mayKnow('d', 'x')).toBe(false);
  });

  it('remembers nothing with capacity 0', () => {
    const cache = new VerifiedCredentialCache(key, 0);
    cache.remember('a', 's', HASH);
    expect(cache.knownOrBeingVerified('a', 's', HASH)).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('keys entries by an HMAC: another key knows nothing, and no secret is held', () => {
    const cache = new VerifiedCredentialCache(key, 10);
    const secret = 'the-secret-that-must-not-be-held';
    cache.remember('a', secret, HASH);
    expect(new VerifiedCredentialCache(createSecretKey(randomBytes(32)), 10).knownOrBeingVerified('a', secret, HASH)).toBe(false);
    expect(JSON.stringify([...cache['entries']])).not.toContain(secret);
  });

  describe('verify', () => {
    const deferred = () => {
      let resolve!: (value: boolean) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<boolean>((ok, fail) => ((resolve = ok), (reject = fail)));
      return { promise, resolve, reject };
    };

    it('runs one check for concurrent requests with the same credential and remembers a success', async () => {
      const cache = new VerifiedCredentialCache(key, 10);
      const slowHash = deferred();
      let checks = 0;
      const check = () => (checks++, slowHash.promise);
      const answers = Array.from({ length: 32 }, () => cache.verify('a', 's', HASH, check));
      slowHash.resolve(true);
      expect(await Promise.all(answers)).toEqual(Array(32).fill(true));
      expect(checks).toBe(1);
      expect(await cache.verify('a', 's', HASH, () => Promise.reject(new Error('not called: remembered')))).toBe(true);
      expect(cache.knownOrBeingVerified('a', 's', HASH)).toBe(true);
    });

    it('counts a credential whose check is under way as cheap to join, and a refused one as unknown once settled', async () => {
      const cache = new VerifiedCredentialCache(key, 10);
      const slowHash = deferred();
      expect(cache.knownOrBeingVerified('a', 'wrong', HASH)).toBe(false);
      const answer = cache.verify('a', 'wrong', HASH, () => slowHash.promise);
      expect(cache.knownOrBeingVerified('a', 'wrong', HASH)).toBe(true);
      expect(cache.knownOrBeingVerified('a', 'other', HASH)).toBe(false);
      slowHash.resolve(false);
      expect(await answer).toBe(false);
      expect(cache.knownOrBeingVerified('a', 'wrong', HASH)).toBe(false);
    });

    it('remembers a shared success once, so its waiters evict nothing else from a full cache', async () => {
      const cache = new VerifiedCredentialCache(key, 2);
      cache.remember('a', 's', HASH);
      cache.remember('b', 's', HASH);
      const check = () => Promise.resolve(true);
      await Promise.all([cache.verify('c', 's', HASH, check), cache.verify('c', 's', HASH, check), cache.verify('c', 's', HASH, check)]);
      expect(cache.knownOrBeingVerified('c', 's', HASH)).toBe(true);
      expect(cache.knownOrBeingVerified('b', 's', HASH)).toBe(true);
      expect(cache.knownOrBeingVerified('a', 's', HASH)).toBe(false);
    });

    it('shares a failed check among concurrent callers, remembers nothing, and checks again next time', async () => {
      const cache = new VerifiedCredentialCache(key, 10);
      let checks = 0;
      const wrong = () => (checks++, Promise.resolve(false));
      expect(await Promise.all([cache.verify('a', 'guess', HASH, wrong), cache.verify('a', 'guess', HASH, wrong)])).toEqual([false, false]);
      expect(checks).toBe(1);
      expect(await cache.verify('a', 'guess', HASH, wrong)).toBe(false);
      expect(checks).toBe(2);
      expect(cache.size).toBe(0);
    });

    it('checks different secrets and different stored hashes separately', async () => {
      const cache = new VerifiedCredentialCache(key, 10);
      const seen: string[] = [];
      const checkFor = (label: string) => () => (seen.push(label), Promise.resolve(true));
      await Promise.all([
        cache.verify('a', 's1', HASH, checkFor('s1')),
        cache.verify('a', 's2', HASH, checkFor('s2')),
        cache.verify('a', 's1', `${HASH}-new`, checkFor('new')),
      ]);
      expect(seen.sort()).toEqual(['new', 's1', 's2']);
    });

    it('hands an error of the check to every waiter and retries on the next call', async () => {
      const cache = new VerifiedCredentialCache(key, 10);
      const failing = deferred();
      const first = cache.verify('a', 's', HASH, () => failing.promise);
      const second = cache.verify('a', 's', HASH, () => Promise.resolve(true));
      failing.reject(new Error('scrypt failed'));
      await expect(first).rejects.toThrow('scrypt failed');
      await expect(second).rejects.toThrow('scrypt failed');
      expect(await cache.verify('a', 's', HASH, () => Promise.resolve(true))).toBe(true);
    });

    it('still shares one check when remembering is turned off (capacity 0)', async () => {
      const cache = new VerifiedCredentialCache(key, 0);
      let checks = 0;
      const check = () => (checks++, Promise.resolve(true));
      await Promise.all([cache.verify('a', 's', HASH, check), cache.verify('a', 's', HASH, check)]);
      expect(checks).toBe(1);
      await cache.verify('a', 's', HASH, check);
      expect(checks).toBe(2);
    });
  });
});
