import type { Kysely } from 'kysely';

// The browser half of the API: consent requests, authorization codes and refresh tokens. Same conventions as 001:
// text, bigint epoch milliseconds, JSON text for objects, space-separated scopes.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('consent_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    // The authorization request as it came (without consent parameters): the consent app sends the browser back to it.
    .addColumn('query', 'text', (c) => c.notNull())
    .addColumn('response_type', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('redirect_uri_given', 'integer', (c) => c.notNull())
    .addColumn('requested_scopes', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_challenge', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // pending, then accepted or rejected once; used_at is set by the one redirect that carries the decision out.
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('granted_scopes', 'text', (c) => c.notNull())
    .addColumn('access_token_extra', 'text', (c) => c.notNull())
    .addColumn('id_token_extra', 'text', (c) => c.notNull())
    .addColumn('reject_reason', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    // When the user authenticated, as the consent app says (the ID token's auth_time); else the decision's time.
    .addColumn('auth_time', 'bigint')
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('consent_requests_expires_at').on('consent_requests').column('expires_at').execute();

  await db.schema
    .createTable('authorization_codes')
    .addColumn('signature_hash', 'text', (c) => c.primaryKey())
    .addColumn('grant_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('redirect_uri_given', 'integer', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('access_token_extra', 'text', (c) => c.notNull())
    .addColumn('id_token_extra', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_challenge', 'text', (c) => c.notNull())
    .addColumn('auth_time', 'bigint', (c) => c.notNull())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // Set by the one exchange that may use it; a second one finds it set and revokes what the first issued.
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('authorization_codes_expires_at').on('authorization_codes').column('expires_at').execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('signature_hash', 'text', (c) => c.primaryKey())
    // The family: every token rotated from one authorization shares it, with the access tokens it issued.
    .addColumn('grant_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('access_token_extra', 'text', (c) => c.notNull())
    .addColumn('id_token_extra', 'text', (c) => c.notNull())
    .addColumn('auth_time', 'bigint', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // Set when it was exchanged for its successor: presenting it again revokes the family.
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('refresh_tokens_grant_id').on('refresh_tokens').column('grant_id').execute();
  await db.schema.createIndex('refresh_tokens_expires_at').on('refresh_tokens').column('expires_at').execute();
  await db.schema.createIndex('refresh_tokens_client_id').on('refresh_tokens').column('client_id').execute();

  // Revoked grants are remembered until everything they could have issued has expired: an exchange whose tokens were
  // written just after the revocation finds its grant here and withdraws them (the writes are group-committed).
  await db.schema
    .createTable('revoked_grants')
    .addColumn('grant_id', 'text', (c) => c.primaryKey())
    .addColumn('revoked_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revoked_grants_expires_at').on('revoked_grants').column('expires_at').execute();
  // Deleting a client deletes what was issued to it.
  await db.schema.createIndex('authorization_codes_client_id').on('authorization_codes').column('client_id').execute();
  await db.schema.createIndex('consent_requests_client_id').on('consent_requests').column('client_id').execute();

  // userinfo answers with the consent's idTokenExtra claims, found through the access token.
  await db.schema
    .alterTable('access_tokens')
    .addColumn('id_token_extra', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').dropColumn('id_token_extra').execute();
  for (const table of ['revoked_grants', 'refresh_tokens', 'authorization_codes', 'consent_requests']) await db.schema.dropTable(table).execute();
}
