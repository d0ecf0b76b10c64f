import { isKeyedHash, type KeyedSecretHash } from '../../crypto/keyed-secret-hash.js';
import type { SecretMinter } from '../../crypto/minted-secret.js';
import { randomToken } from '../../crypto/random.js';
import { hashSecret, verifySecret } from '../../crypto/secret-hash.js';
import type { VerifiedCredentialCache } from './credential-cache.js';

const REHASH_INTERVAL_MS = 10 * 60_000;

/** Told of every hash computed to check a secret: scrypt is the server's costliest work, worth watching. */
export type HashObserver = (scheme: 'scrypt' | 'hmac-sha256', purpose: 'verify' | 'dummy') => void;

export interface SecretCheck {
  verified: boolean;
  /** A better stored form for the secret just verified: the fast form for a minted secret, or the first key's. */
  rehashed?: string;
}

/**
 * How client secrets are made, stored and checked. A secret this server minted (or one carrying a valid check value
 * of its system secret) is stored under the fast keyed hash; any other secret, chosen by a person and perhaps
 * guessable, under scrypt. Verification follows the stored form.
 */
export class ClientSecrets {
  private dummyScrypt: Promise<string> | undefined;
  /**
   * When each client was last moved to the first system secret's key. While replicas with two orders of the same
   * secrets run side by side (a rotation rolling out), each would move it back to its own first key on every request.
   */
  private readonly movedToFirstKey = new Map<string, number>();

  constructor(
    private readonly minter: SecretMinter,
    private readonly keyed: KeyedSecretHash,
    private readonly verifiedCache: VerifiedCredentialCache,
    private readonly observe: HashObserver = () => {},
  ) {}

  mint(): string {
    return this.minter.mint();
  }

  async protect(secret: string): Promise<string> {
    return this.minter.isMinted(secret) ? this.keyed.hash(secret) : hashSecret(secret);
  }

  async verify(clientId: string, secret: string, stored: string): Promise<SecretCheck> {
    if (isKeyedHash(stored)) {
      const { verified, rehash } = this.keyed.verify(secret, stored);
      this.observe('hmac-sha256', 'verify');
      if (verified) return rehash && this.mayMove(clientId) ? { verified, rehashed: this.keyed.hash(secret) } : { verified };
      // Not the secret. One the server did not mint costs what it costs for an unknown client (an scrypt), or the
      // speed of the answer would tell which ids exist. (Whether it was minted is not a precondition of the match
      // above: a secret minted under a system secret since rotated away has a check value no key here recognises.)
      if (!this.minter.isMinted(secret)) await this.scryptOfNothing(secret);
      return { verified: false };
    }
    const verified = await this.verifyScrypt(clientId, secret, stored);
    // A minted secret found under scrypt (stored before minting existed) moves to the fast form on its first use.
    return verified && this.minter.isMinted(secret) ? { verified, rehashed: this.keyed.hash(secret) } : { verified };
  }

  /**
   * Whether checking `secret` against `stored` is cheap: a keyed hash, a credential this process verified already, or
   * one whose verification is under way (a client's workers starting together send the same credential at once; all
   * but the first wait for that one hash). While failed attempts are being limited, these checks still go ahead, so a
   * client whose credential is known good is never refused because someone else guessed wrong, nor because its own
   * requests arrived together.
   */
  verifiesCheaply(clientId: string, secret: string, stored: string): boolean {
    return isKeyedHash(stored) ? this.minter.isMinted(secret) : this.verifiedCache.knownOrBeingVerified(clientId, secret, stored);
  }

  /**
   * False only when checking `secret` for `clientId` cannot be cheap whatever the client's stored hash is: the secret
   * is not minted, and this process has verified (or is verifying) no such credential. A limited attempt for which
   * this is false is refused before the client is even read.
   */
  mayVerifyCheaply(clientId: string, secret: string): boolean {
    return this.minter.isMinted(secret) || this.verifiedCache.mayKnow(clientId, secret);
  }

  /**
   * Whether `secret` is the one stored, for a management call that sets a secret (not an authentication: no work is
   * done to hide anything, and no stored form is improved).
   */
  async isStored(clientId: string, secret: string, stored: string): Promise<boolean> {
    if (isKeyedHash(stored)) return this.minter.isMinted(secret) && this.keyed.verify(secret, stored).verified;
    return this.verifyScrypt(clientId, secret, stored);
  }

  /** A check against an scrypt-stored secret, answered from the cache of verified credentials when it can be. */
  private verifyScrypt(clientId: string, secret: string, stored: string): Promise<boolean> {
    return this.verifiedCache.verify(clientId, secret, stored, () => {
      this.observe('scrypt', 'verify');
      return verifySecret(secret, stored);
    });
  }

  /** For a client that does not exist: the work a real check of the presented secret's scheme would do. */
  async verifyUnknown(secret: string): Promise<void> {
    if (this.minter.isMinted(secret)) {
      this.keyed.verifyNothing(secret);
      this.observe('hmac-sha256', 'dummy');
    } else {
      await this.scryptOfNothing(secret);
    }
  }

  /** How stored secrets in fast form begin when hashed under the first system secret. */
  get currentKeyedPrefix(): string {
    return this.keyed.currentPrefix;
  }

  forget(clientId: string): void {
    this.verifiedCache.forget(clientId);
  }

  private mayMove(clientId: string, now = Date.now()): boolean {
    const last = this.movedToFirstKey.get(clientId);
    if (last !== undefined && now - last < REHASH_INTERVAL_MS) return false;
    // Bounded: forgetting early only allows one more move.
    if (this.movedToFirstKey.size >= 10_000) this.movedToFirstKey.clear();
    this.movedToFirstKey.set(clientId, now);
    return true;
  }

  private async scryptOfNothing(secret: string): Promise<void> {
    this.observe('scrypt', 'dummy');
    // Against a hash of a random secret nobody knows: the full cost of a real scrypt check, and never a match.
    await verifySecret(secret, await (this.dummyScrypt ??= hashSecret(randomToken(32))));
  }
}
