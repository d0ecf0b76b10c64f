import { randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { constantTimeEqual } from './equal.js';

/**
 * Client secrets at rest: scrypt at OWASP's recommended cost, a 16-byte salt, and the parameters stored beside the
 * hash so they can be raised later without breaking existing clients. Of OWASP's equal-cost choices we take
 * N=2^14, r=8, p=5: 16 MiB per hash instead of 128 MiB matters when many hashes run at once. The format follows the
 * PHC string convention: $scrypt$ln=14,r=8,p=5$<salt b64>$<hash b64>
 */
export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export const OWASP_SCRYPT: ScryptParams = { logN: 14, r: 8, p: 5 };
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** params.logN, r: params.r, p: params.p, maxmem: 256 * 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(secret.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))));
}

export async function hashSecret(secret: string, params: ScryptParams = OWASP_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, params);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const match = PHC.exec(stored);
  if (!match) return false;
  const [, logN, r, p, salt, expected] = match;
  const expectedHash = Buffer.from(expected!, 'base64');
  const actual = await derive(secret, Buffer.from(salt!, 'base64'), { logN: Number(logN), r: Number(r), p: Number(p) });
  return constantTimeEqual(actual, expectedHash);
}
