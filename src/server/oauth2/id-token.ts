import { createHash } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';
import type { KeyService } from '../jwk/service.js';

/** How long a signing key, once opened, is reused: as long as /.well-known/jwks.json is cached by its readers. */
const SIGNING_KEY_REUSE_MS = 5_000;

export interface IdTokenClaims {
  clientId: string;
  subject: string;
  /** When the user authenticated and consented (epoch ms). */
  authTime: number;
  /** When the authorization was requested (epoch ms): Hydra's `rat`; unknown after a refresh. */
  requestedAt?: number;
  nonce?: string;
  /** Issued beside it in the same response: its at_hash (OpenID Connect Core §3.2.2.10, §3.3.2.11). */
  accessToken?: string;
  /** Issued beside it in a hybrid response: its c_hash (§3.3.2.11). */
  code?: string;
  extra: Record<string, unknown>;
  /** How long it lives (the client's own lifespan); the server's setting when left out. */
  lifespanMs?: number;
}

/** The left half of the SHA-256 of an ASCII value, base64url: at_hash and c_hash for RS256. */
export function leftHalfHash(value: string): string {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/**
 * Signs ID tokens (RS256) with the newest key of the ID-token set. Opening a sealed key and importing it costs more
 * than a signature, so an opened key is reused for a few seconds; a rotation on another replica is picked up after
 * that, while the old key stays published.
 */
export class IdTokenSigner {
  private opened: { at: number; key: Promise<{ kid: string; key: CryptoKey }> } | undefined;

  constructor(
    private readonly keys: KeyService,
    private readonly settings: { issuer: string; lifespanMs: number },
  ) {}

  async sign(claims: IdTokenClaims, now = Date.now()): Promise<string> {
    const { kid, key } = await this.signingKey(now);
    const seconds = (ms: number) => Math.floor(ms / 1000);
    return new SignJWT({
      // Extra claims first: the server's own claims below always win (consent validation refuses reserved names too).
      ...claims.extra,
      auth_time: seconds(claims.authTime),
      ...(claims.requestedAt === undefined ? {} : { rat: seconds(claims.requestedAt) }),
      ...(claims.nonce ? { nonce: claims.nonce } : {}),
      ...(claims.accessToken ? { at_hash: leftHalfHash(claims.accessToken) } : {}),
      ...(claims.code ? { c_hash: leftHalfHash(claims.code) } : {}),
    })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setSubject(claims.subject)
      .setAudience(claims.clientId)
      .setIssuedAt(seconds(now))
      .setExpirationTime(seconds(now + (claims.lifespanMs ?? this.settings.lifespanMs)))
      .sign(key);
  }

  private signingKey(now: number): Promise<{ kid: string; key: CryptoKey }> {
    if (!this.opened || now - this.opened.at > SIGNING_KEY_REUSE_MS) {
      const key = this.keys.signingKey();
      // A failure is not remembered: the next token tries again (unless a newer key has been opened meanwhile).
      key.catch(() => {
        if (this.opened?.key === key) this.opened = undefined;
      });
      this.opened = { at: now, key };
    }
    return this.opened.key;
  }
}
