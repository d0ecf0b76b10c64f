import type { Insertable, Kysely, Selectable } from 'kysely';
import { BatchWriter } from '../../db/batch-writer.js';
import { PrecompiledInsert, PrecompiledQuery } from '../../db/precompiled.js';
import type { AuthorizationCodeTable, Database, RefreshTokenTable } from '../../db/tables.js';

/** What a user granted one client, carried from the consent to every code and token issued under it. */
export interface Authorization {
  /** Shared by the code, the tokens it was exchanged for and every refresh of them: revoked as one. */
  grantId: string;
  clientId: string;
  subject: string;
  scopes: string[];
  accessTokenExtra: Record<string, unknown>;
  idTokenExtra: Record<string, unknown>;
  /** When the user consented (epoch ms): the ID token's auth_time. */
  authTime: number;
}

export interface CodeRecord extends Authorization {
  storageKey: string;
  redirectUri: string;
  redirectUriGiven: boolean;
  nonce: string;
  codeChallenge: string;
  requestedAt: number;
  issuedAt: number;
  expiresAt: number;
  usedAt: number | undefined;
}

export interface RefreshRecord extends Authorization {
  storageKey: string;
  issuedAt: number;
  expiresAt: number;
  usedAt: number | undefined;
}

export interface GrantStore {
  saveCode(record: CodeRecord): Promise<void>;
  findCode(storageKey: string): Promise<CodeRecord | undefined>;
  /**
   * Marks the code used and returns it only when every check of an exchange passes (its client, unused, unexpired, the
   * redirect URI, the S256 of the verifier, '' for none), in one statement: the common case. Undefined otherwise; the
   * caller then finds out why.
   */
  redeemCode(
    storageKey: string,
    exchange: { clientId: string; now: number; redirectUri: string | undefined; verifierChallenge: string },
  ): Promise<CodeRecord | undefined>;
  /** Marks the code used; false when it was used already (the exchange that set it first wins). */
  markCodeUsed(storageKey: string, now: number): Promise<boolean>;
  saveRefreshToken(record: RefreshRecord): Promise<void>;
  findRefreshToken(storageKey: string): Promise<RefreshRecord | undefined>;
  /** Marks the refresh token rotated; false when it was already (one rotation wins a race). */
  markRefreshTokenUsed(storageKey: string, now: number): Promise<boolean>;
  /** Deletes the access tokens of the grant: those a refresh replaces. */
  revokeAccessTokens(grantId: string): Promise<void>;
  /**
   * Deletes the access and refresh tokens of the grant (after a replay or a revocation) and remembers the grant as
   * revoked until `until`, so tokens of it written after this are withdrawn (isRevoked); durable before it returns.
   */
  revokeGrant(grantId: string, until: number): Promise<void>;
  isRevoked(grantId: string): Promise<boolean>;
}

export class SqlGrantStore implements GrantStore {
  private readonly codeByKey: PrecompiledQuery<Selectable<AuthorizationCodeTable>>;
  private readonly refreshByKey: PrecompiledQuery<Selectable<RefreshTokenTable>>;

  // Parameters: now; storage key, client id, now, verifier challenge, then the redirect URI (or 0: none was given).
  private readonly redeemWithRedirect: PrecompiledQuery<Selectable<AuthorizationCodeTable>>;
  private readonly redeemWithoutRedirect: PrecompiledQuery<Selectable<AuthorizationCodeTable>>;
  // Parameters: now; storage key.
  private readonly rotate: PrecompiledQuery<unknown>;
  // Parameters: grant id.
  private readonly deleteAccessTokensOfGrant: PrecompiledQuery<unknown>;

  private readonly revokedById: PrecompiledQuery<{ grant_id: string }>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly makeDurable: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.revokedById = new PrecompiledQuery(db.selectFrom('revoked_grants').select('grant_id').where('grant_id', '=', ''));
    this.codeByKey = new PrecompiledQuery(db.selectFrom('authorization_codes').selectAll().where('signature_hash', '=', ''));
    this.refreshByKey = new PrecompiledQuery(db.selectFrom('refresh_tokens').selectAll().where('signature_hash', '=', ''));
    const redeem = db
      .updateTable('authorization_codes')
      .set({ used_at: 0 })
      .where('signature_hash', '=', '')
      .where('used_at', 'is', null)
      .where('client_id', '=', '')
      .where('expires_at', '>', 0)
      .where('code_challenge', '=', '');
    this.redeemWithRedirect = new PrecompiledQuery(redeem.where('redirect_uri', '=', '').returningAll());
    this.redeemWithoutRedirect = new PrecompiledQuery(redeem.where('redirect_uri_given', '=', 0).returningAll());
    this.rotate = new PrecompiledQuery(db.updateTable('refresh_tokens').set({ used_at: 0 }).where('signature_hash', '=', '').where('used_at', 'is', null));
    this.deleteAccessTokensOfGrant = new PrecompiledQuery(db.deleteFrom('access_tokens').where('grant_id', '=', ''));
  }

  // Group commit, as for access tokens: under load one statement (and one WAL append) carries many new rows.
  private readonly codeInsert = new PrecompiledInsert(
    (rows: Insertable<AuthorizationCodeTable>[]) => this.db.insertInto('authorization_codes').values(rows),
    [
      'grant_id',
      'client_id',
      'subject',
      'scope',
      'access_token_extra',
      'id_token_extra',
      'auth_time',
      'signature_hash',
      'redirect_uri',
      'redirect_uri_given',
      'nonce',
      'code_challenge',
      'requested_at',
      'issued_at',
      'expires_at',
      'used_at',
    ],
  );

  private readonly codeInserts = new BatchWriter<CodeRecord>(async (records) => {
    await this.codeInsert.execute(
      this.db,
      records.map((record) => ({
        ...authorizationColumns(record),
        signature_hash: record.storageKey,
        redirect_uri: record.redirectUri,
        redirect_uri_given: record.redirectUriGiven ? 1 : 0,
        nonce: record.nonce,
        code_challenge: record.codeChallenge,
        requested_at: record.requestedAt,
        issued_at: record.issuedAt,
        expires_at: record.expiresAt,
        used_at: null,
      })),
    );
  });

  private readonly refreshInsert = new PrecompiledInsert(
    (rows: Insertable<RefreshTokenTable>[]) => this.db.insertInto('refresh_tokens').values(rows),
    ['grant_id', 'client_id', 'subject', 'scope', 'access_token_extra', 'id_token_extra', 'auth_time', 'signature_hash', 'issued_at', 'expires_at', 'used_at'],
  );

  private readonly refreshInserts = new BatchWriter<RefreshRecord>(async (records) => {
    await this.refreshInsert.execute(
      this.db,
      records.map((record) => ({
        ...authorizationColumns(record),
        signature_hash: record.storageKey,
        issued_at: record.issuedAt,
        expires_at: record.expiresAt,
        used_at: null,
      })),
    );
  });

  saveCode(record: CodeRecord): Promise<void> {
    return this.codeInserts.write(record);
  }

  async findCode(storageKey: string): Promise<CodeRecord | undefined> {
    const [row] = (await this.codeByKey.execute(this.db, [storageKey])).rows;
    return row && codeFromRow(row);
  }

  async redeemCode(
    storageKey: string,
    exchange: { clientId: string; now: number; redirectUri: string | undefined; verifierChallenge: string },
  ): Promise<CodeRecord | undefined> {
    const { clientId, now, redirectUri, verifierChallenge } = exchange;
    const [row] = (
      redirectUri === undefined
        ? await this.redeemWithoutRedirect.execute(this.db, [now, storageKey, clientId, now, verifierChallenge, 0])
        : await this.redeemWithRedirect.execute(this.db, [now, storageKey, clientId, now, verifierChallenge, redirectUri])
    ).rows;
    return row && codeFromRow(row);
  }

  async markCodeUsed(storageKey: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('authorization_codes')
      .set({ used_at: now })
      .where('signature_hash', '=', storageKey)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  saveRefreshToken(record: RefreshRecord): Promise<void> {
    return this.refreshInserts.write(record);
  }

  async markRefreshTokenUsed(storageKey: string, now: number): Promise<boolean> {
    return Number((await this.rotate.execute(this.db, [now, storageKey])).numAffectedRows) === 1;
  }

  async revokeAccessTokens(grantId: string): Promise<void> {
    await this.deleteAccessTokensOfGrant.execute(this.db, [grantId]);
  }

  async findRefreshToken(storageKey: string): Promise<RefreshRecord | undefined> {
    const [row] = (await this.refreshByKey.execute(this.db, [storageKey])).rows;
    return row && refreshFromRow(row);
  }

  async revokeGrant(grantId: string, until: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('revoked_grants')
        .values({ grant_id: grantId, revoked_at: Date.now(), expires_at: until })
        .onConflict((conflict) => conflict.column('grant_id').doNothing())
        .execute();
      await tx.deleteFrom('access_tokens').where('grant_id', '=', grantId).execute();
      await tx.deleteFrom('refresh_tokens').where('grant_id', '=', grantId).execute();
    });
    // A revocation is security state, not a token a client could ask for again: it must survive power loss.
    await this.makeDurable();
  }

  async isRevoked(grantId: string): Promise<boolean> {
    return (await this.revokedById.execute(this.db, [grantId])).rows.length > 0;
  }
}

function authorizationColumns(record: Authorization) {
  return {
    grant_id: record.grantId,
    client_id: record.clientId,
    subject: record.subject,
    scope: record.scopes.join(' '),
    access_token_extra: JSON.stringify(record.accessTokenExtra),
    id_token_extra: JSON.stringify(record.idTokenExtra),
    auth_time: record.authTime,
  };
}

function authorizationFromRow(row: Selectable<AuthorizationCodeTable> | Selectable<RefreshTokenTable>): Authorization {
  return {
    grantId: row.grant_id,
    clientId: row.client_id,
    subject: row.subject,
    scopes: row.scope ? row.scope.split(' ') : [],
    accessTokenExtra: JSON.parse(row.access_token_extra) as Record<string, unknown>,
    idTokenExtra: JSON.parse(row.id_token_extra) as Record<string, unknown>,
    authTime: row.auth_time,
  };
}

function codeFromRow(row: Selectable<AuthorizationCodeTable>): CodeRecord {
  return {
    ...authorizationFromRow(row),
    storageKey: row.signature_hash,
    redirectUri: row.redirect_uri,
    redirectUriGiven: row.redirect_uri_given === 1,
    nonce: row.nonce,
    codeChallenge: row.code_challenge,
    requestedAt: row.requested_at,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at ?? undefined,
  };
}

function refreshFromRow(row: Selectable<RefreshTokenTable>): RefreshRecord {
  return {
    ...authorizationFromRow(row),
    storageKey: row.signature_hash,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at ?? undefined,
  };
}
