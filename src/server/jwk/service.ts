import { randomUUID, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from 'jose';
import { openWithAny, seal } from '../../crypto/aead.js';
import { ConfigError } from '../../config/load.js';
import type { KeyStore, StoredKey } from './store.js';

export const ID_TOKEN_SET = 'hydra.openid.id-token';
const ALGORITHM = 'RS256';

export interface PublicJwk extends JWK {
  kid: string;
  alg: string;
  use: 'sig';
}

/**
 * The ID-token signing keys. The newest unretired key signs; a retired key stays published until every token it
 * signed has expired (its retirement plus the longest token lifespan), then it is deleted.
 */
export class KeyService {
  constructor(
    private readonly store: KeyStore,
    /** The first seals; all of them open (SYSTEM_SECRET rotation). */
    private readonly encryptionKeys: readonly KeyObject[],
    private readonly publishRetiredForMs: number,
  ) {}

  /**
   * Seals again, under the first system secret, every private key still sealed under another one, so the old
   * secret can be dropped from SYSTEM_SECRET without losing a key. Returns how many were re-sealed.
   */
  async resealUnderFirstSecret(): Promise<number> {
    let resealed = 0;
    for (const key of await this.store.listSet(ID_TOKEN_SET)) {
      let opened: { plaintext: string; byFirst: boolean };
      try {
        opened = openWithAny(this.encryptionKeys, key.private_jwk_sealed, key.kid);
      } catch {
        throw new ConfigError(
          `invalid configuration: environment variable SYSTEM_SECRET: signing key ${key.kid} is sealed under a system secret that is not configured; ` +
            'list every secret still in use (during a rotation: the old and the new one, comma-separated)',
        );
      }
      const { plaintext, byFirst } = opened;
      if (byFirst) continue;
      await this.store.replaceSealed(key.kid, key.private_jwk_sealed, seal(this.encryptionKeys[0]!, plaintext, key.kid));
      resealed++;
    }
    return resealed;
  }

  /** Creates the first key of the set when there is none; safe to call at every start. */
  async ensureSigningKey(): Promise<string> {
    await this.store.deleteRetiredBefore(ID_TOKEN_SET, Date.now() - this.publishRetiredForMs);
    const keys = await this.store.listSet(ID_TOKEN_SET);
    const active = keys.find((key) => key.retired_at === null);
    return active ? active.kid : this.addKey();
  }

  /** Adds a new signing key and retires the others; returns the new kid. */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    await this.store.deleteRetiredBefore(ID_TOKEN_SET, Date.now() - this.publishRetiredForMs);
    const before = await this.store.listSet(ID_TOKEN_SET);
    const kid = await this.addKey();
    await this.store.retireAllExcept(ID_TOKEN_SET, kid, Date.now());
    return { kid, retired: before.filter((key) => key.retired_at === null).map((key) => key.kid) };
  }

  async publicKeys(): Promise<{ keys: PublicJwk[] }> {
    const now = Date.now();
    const keys = await this.store.listSet(ID_TOKEN_SET);
    return {
      keys: keys
        .filter((key) => key.retired_at === null || key.retired_at + this.publishRetiredForMs > now)
        .map((key) => JSON.parse(key.public_jwk) as PublicJwk),
    };
  }

  async signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    const keys = await this.store.listSet(ID_TOKEN_SET);
    const active = keys.find((key) => key.retired_at === null);
    if (!active) throw new Error(`no active key in set ${ID_TOKEN_SET}`);
    const jwk = JSON.parse(openWithAny(this.encryptionKeys, active.private_jwk_sealed, active.kid).plaintext) as JWK;
    return { kid: active.kid, key: (await importJWK(jwk, ALGORITHM)) as CryptoKey };
  }

  private async addKey(): Promise<string> {
    const kid = `public:${randomUUID()}`;
    const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { modulusLength: 3072, extractable: true });
    const publicJwk: PublicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid: kid.replace(/^public:/, 'private:'), alg: ALGORITHM, use: 'sig' };
    const row: StoredKey = {
      kid,
      set_id: ID_TOKEN_SET,
      algorithm: ALGORITHM,
      public_jwk: JSON.stringify(publicJwk),
      // The kid is bound as associated data, so a sealed key copied onto another row fails to open.
      private_jwk_sealed: seal(this.encryptionKeys[0]!, JSON.stringify(privateJwk), kid),
      created_at: Date.now(),
      retired_at: null,
    };
    await this.store.insert(row);
    return kid;
  }
}
