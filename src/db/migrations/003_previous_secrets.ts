import type { Kysely } from 'kysely';

// Secret rotation with a grace period: a client may hold, beside its secret, the one it replaced, until an expiry;
// an access token remembers which of the two its client authenticated with.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('previous_secret_hash', 'text').execute();
  await db.schema.alterTable('clients').addColumn('previous_secret_expires_at', 'bigint').execute();
  // 'current' or 'previous'; null when no secret was presented (a public client, the implicit flow).
  await db.schema.alterTable('access_tokens').addColumn('client_secret_used', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').dropColumn('client_secret_used').execute();
  await db.schema.alterTable('clients').dropColumn('previous_secret_expires_at').execute();
  await db.schema.alterTable('clients').dropColumn('previous_secret_hash').execute();
}
