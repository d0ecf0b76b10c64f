import type { Kysely } from 'kysely';

// Hydra's client fields for audiences, CORS, logout, consent and lifespans. Lists are JSON text as in 001; the nine
// lifespans are one JSON object of the ones set (Hydra's names, the durations as written), since nothing queries
// them one by one. An access token keeps the audience it was granted; a consent request whether it may be skipped.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['audience', 'allowed_cors_origins', 'post_logout_redirect_uris']) {
    await db.schema
      .alterTable('clients')
      .addColumn(column, 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  }
  await db.schema
    .alterTable('clients')
    .addColumn('skip_consent', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('clients')
    .addColumn('token_lifespans', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .alterTable('access_tokens')
    .addColumn('audience', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  await db.schema
    .alterTable('consent_requests')
    .addColumn('skip', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('consent_requests').dropColumn('skip').execute();
  await db.schema.alterTable('access_tokens').dropColumn('audience').execute();
  for (const column of ['token_lifespans', 'skip_consent', 'post_logout_redirect_uris', 'allowed_cors_origins', 'audience']) {
    await db.schema.alterTable('clients').dropColumn(column).execute();
  }
}
