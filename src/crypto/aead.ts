import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

const VERSION = 'v1';

/** AES-256-GCM with a random 96-bit nonce; the output is `v1.<nonce>.<ciphertext>.<tag>` in base64url. */
export function seal(key: KeyObject, plaintext: string, associatedData: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(associatedData));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, nonce, body, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

/**
 * Opens with the first of `keys` that fits (SYSTEM_SECRET rotation); `byFirst` says whether that was the first key,
 * the one new values are sealed with.
 */
export function openWithAny(keys: readonly KeyObject[], sealed: string, associatedData: string): { plaintext: string; byFirst: boolean } {
  for (const [index, key] of keys.entries()) {
    try {
      return { plaintext: open(key, sealed, associatedData), byFirst: index === 0 };
    } catch (error) {
      if (index === keys.length - 1) throw error;
    }
  }
  throw new Error('no key to open the sealed value with');
}

export function open(key: KeyObject, sealed: string, associatedData: string): string {
  const [version, nonce, body, tag] = sealed.split('.');
  if (version !== VERSION || !nonce || body === undefined || !tag) throw new Error('sealed value has an unknown format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
  decipher.setAAD(Buffer.from(associatedData));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new Error('cannot decrypt: SYSTEM_SECRET differs from the one the value was sealed with, or the value was altered');
  }
}
