import { describe, expect, it } from 'vitest';
import { OWASP_SCRYPT, hashSecret, verifySecret, type ScryptParams } from '../../src/crypto/secret-hash.js';

// Cheap parameters keep the unit tests fast; one test checks the real defaults.
const CHEAP: ScryptParams = { logN: 10, r: 8, p: 1 };
const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

describe('secret hashing (scrypt, PHC string)', () => {
  it('uses OWASP parameters by default, a 16-byte salt and a 32-byte hash', async () => {
    expect(OWASP_SCRYPT).toEqual({ logN: 14, r: 8, p: 5 });
    const hash = await hashSecret('a-client-secret-of-enough-length');
    const [, ln, r, p, salt, key] = PHC.exec(hash)!;
    expect([ln, r, p]).toEqual(['14', '8', '5']);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64')).toHaveLength(32);
    expect(await verifySecret('a-client-secret-of-enough-length', hash)).toBe(true);
  });

  it('verifies the right secret and refuses a wrong one', async () => {
    const hash = await hashSecret('correct horse battery staple', CHEAP);
    expect(await verifySecret('correct horse battery staple', hash)).toBe(true);
    expect(await verifySecret('correct horse battery stapl', hash)).toBe(false);
    expect(await verifySecret('Correct horse battery staple', hash)).toBe(false);
    expect(await verifySecret('', hash)).toBe(false);
  });

  it('salts: the same secret hashes differently each time, and each hash verifies', async () => {
    const [a, b] = await Promise.all([hashSecret('same secret', CHEAP), hashSecret('same secret', CHEAP)]);
    expect(a).not.toBe(b);
    expect(await verifySecret('same secret', a)).toBe(true);
    expect(await verifySecret('same secret', b)).toBe(true);
  });

  it('never contains the secret', async () => {
    const secret = 'plaintext-must-not-appear';
    const hash = await hashSecret(secret, CHEAP);
    expect(hash).not.toContain(secret);
    expect(hash).not.toContain(Buffer.from(secret).toString('base64'));
  });

  it('reads the parameters from the stored string, so they can be raised without breaking old hashes', async () => {
    const hash = await hashSecret('s', { logN: 11, r: 4, p: 2 });
    expect(hash).toMatch(/^\$scrypt\$ln=11,r=4,p=2\$/);
    expect(await verifySecret('s', hash)).toBe(true);
    // Other parameters give another key: a changed parameter no longer verifies.
    expect(await verifySecret('s', hash.replace('ln=11', 'ln=10'))).toBe(false);
    expect(await verifySecret('s', hash.replace('r=4', 'r=8'))).toBe(false);
  });

  it('normalizes Unicode (NFC), so a composed and a decomposed é are the same secret', async () => {
    const hash = await hashSecret('caf\u00e9', CHEAP);
    expect(await verifySecret('cafe\u0301', hash)).toBe(true);
  });

  it.each([
    ['an empty string', ''],
    ['a bcrypt hash', '$2b$10$abcdefghijklmnopqrstuv'],
    ['a PHC string without a hash', '$scrypt$ln=10,r=8,p=1$c2FsdA=='],
    ['a plaintext secret', 'correct horse battery staple'],
  ])('refuses %s as a stored hash', async (_what, stored) => {
    expect(await verifySecret('correct horse battery staple', stored)).toBe(false);
  });

  it('refuses a hash whose key was altered', async () => {
    const hash = await hashSecret('s', CHEAP);
    const key = hash.split('$').pop()!;
    const altered = Buffer.from(key, 'base64');
    altered[0] = altered[0]! ^ 1;
    expect(await verifySecret('s', hash.replace(key, altered.toString('base64')))).toBe(false);
  });
});
