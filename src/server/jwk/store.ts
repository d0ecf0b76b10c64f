import type { Kysely } from 'kysely';
import type { Database, JsonWebKeyTable } from '../../db/tables.js';

export type StoredKey = JsonWebKeyTable;

export interface KeyStore {
  insert(key: StoredKey): Promise<void>;
  listSet(setId: string): Promise<StoredKey[]>;
  retireAllExcept(setId: string, kid: string, at: number): Promise<void>;
  /** Removes retired keys of the set whose retirement lies before `before`. */
  deleteRetiredBefore(setId: string, before: number): Promise<number>;
  /** Replaces a key's sealed private half only while it is still `from`. */
  replaceSealed(kid: string, from: string, to: string): Promise<void>;
}

export class SqlKeyStore implements KeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(key: StoredKey): Promise<void> {
    await this.db.insertInto('json_web_keys').values(key).execute();
  }

  listSet(setId: string): Promise<StoredKey[]> {
    return this.db.selectFrom('json_web_keys').selectAll().where('set_id', '=', setId).orderBy('created_at', 'desc').orderBy('kid').execute();
  }

  async retireAllExcept(setId: string, kid: string, at: number): Promise<void> {
    await this.db
      .updateTable('json_web_keys')
      .set({ retired_at: at })
      .where('set_id', '=', setId)
      .where('kid', '!=', kid)
      .where('retired_at', 'is', null)
      .execute();
  }

  async deleteRetiredBefore(setId: string, before: number): Promise<number> {
    const result = await this.db
      .deleteFrom('json_web_keys')
      .where('set_id', '=', setId)
      .where('retired_at', 'is not', null)
      .where('retired_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async replaceSealed(kid: string, from: string, to: string): Promise<void> {
    await this.db.updateTable('json_web_keys').set({ private_jwk_sealed: to }).where('kid', '=', kid).where('private_jwk_sealed', '=', from).execute();
  }
}
