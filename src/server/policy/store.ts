import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.js';
import { policySchema, type Policy } from '../../config/policy.js';

export interface PolicyStore {
  list(): Promise<Policy[]>;
  /** Inserts the policy unless one with its id exists; returns whether it was inserted. */
  insertIfMissing(policy: Policy): Promise<boolean>;
}

export class SqlPolicyStore implements PolicyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<Policy[]> {
    const rows = await this.db.selectFrom('policies').selectAll().orderBy('id').execute();
    return rows.map((row) => policySchema.parse(JSON.parse(row.document)));
  }

  async insertIfMissing(policy: Policy): Promise<boolean> {
    const result = await this.db
      .insertInto('policies')
      .values({ id: policy.id, document: JSON.stringify(policy) })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
