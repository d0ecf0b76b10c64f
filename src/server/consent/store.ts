import type { Kysely, Selectable } from 'kysely';
import { BatchWriter } from '../../db/batch-writer.js';
import { PrecompiledInsert, PrecompiledQuery } from '../../db/precompiled.js';
import type { ConsentRequestTable, Database } from '../../db/tables.js';

export type ConsentStatus = 'pending' | 'accepted' | 'rejected';

/** An authorization request waiting for, or carrying, the user's decision. */
export interface ConsentRecord {
  id: string;
  clientId: string;
  /** The authorization request's query as it came, without consent parameters. */
  query: string;
  responseType: string;
  redirectUri: string;
  /** Whether the request named redirect_uri (then the code exchange must name the same). */
  redirectUriGiven: boolean;
  requestedScopes: string[];
  state: string;
  nonce: string;
  codeChallenge: string;
  requestedAt: number;
  expiresAt: number;
  status: ConsentStatus;
  subject: string;
  grantedScopes: string[];
  accessTokenExtra: Record<string, unknown>;
  idTokenExtra: Record<string, unknown>;
  rejectReason: string;
  decidedAt: number | undefined;
  /** When the user authenticated, if the consent app said so (epoch ms). */
  authTime: number | undefined;
  usedAt: number | undefined;
  /** The client's skip_consent when the request was made: the consent app may accept without asking. */
  skip: boolean;
}

export type ConsentDecision = Pick<
  ConsentRecord,
  'status' | 'subject' | 'grantedScopes' | 'accessTokenExtra' | 'idTokenExtra' | 'rejectReason' | 'authTime'
> & {
  status: 'accepted' | 'rejected';
};

export interface ConsentStore {
  create(record: ConsentRecord): Promise<void>;
  get(id: string): Promise<ConsentRecord | undefined>;
  /** Records the decision while the request is pending and unexpired; whether it did (one decision wins a race). */
  decide(id: string, decision: ConsentDecision, now: number): Promise<boolean>;
  /**
   * Marks a decided, unexpired, unused request whose original query is `query` used and returns it; undefined when it
   * is not (so it is used once, and a changed request does not spend it).
   */
  consume(id: string, query: string, now: number): Promise<ConsentRecord | undefined>;
}

export class SqlConsentStore implements ConsentStore {
  private readonly byId: PrecompiledQuery<Selectable<ConsentRequestTable>>;
  // Parameters: status, subject, granted_scopes, access_token_extra, id_token_extra, reject_reason, decided_at,
  // auth_time; id, 'pending', now.
  private readonly decision: PrecompiledQuery<unknown>;
  // Parameters: now; id, query, 'pending', now.
  private readonly use: PrecompiledQuery<Selectable<ConsentRequestTable>>;

  constructor(private readonly db: Kysely<Database>) {
    this.byId = new PrecompiledQuery(db.selectFrom('consent_requests').selectAll().where('id', '=', ''));
    this.decision = new PrecompiledQuery(
      db
        .updateTable('consent_requests')
        .set({ status: '', subject: '', granted_scopes: '', access_token_extra: '', id_token_extra: '', reject_reason: '', decided_at: 0, auth_time: 0 })
        .where('id', '=', '')
        .where('status', '=', 'pending')
        .where('expires_at', '>', 0),
    );
    this.use = new PrecompiledQuery(
      db
        .updateTable('consent_requests')
        .set({ used_at: 0 })
        .where('id', '=', '')
        .where('query', '=', '')
        .where('status', '!=', 'pending')
        .where('used_at', 'is', null)
        .where('expires_at', '>', 0)
        .returningAll(),
    );
  }

  // Group commit, as for access tokens: under load one statement (and one WAL append) carries many new requests.
  private readonly insert = new PrecompiledInsert((rows: ConsentRequestTable[]) => this.db.insertInto('consent_requests').values(rows), CONSENT_COLUMNS);

  private readonly inserts = new BatchWriter<ConsentRecord>(async (records) => {
    await this.insert.execute(this.db, records.map(toRow));
  });

  create(record: ConsentRecord): Promise<void> {
    return this.inserts.write(record);
  }

  async get(id: string): Promise<ConsentRecord | undefined> {
    const [row] = (await this.byId.execute(this.db, [id])).rows;
    return row && fromRow(row);
  }

  async decide(id: string, decision: ConsentDecision, now: number): Promise<boolean> {
    const { numAffectedRows } = await this.decision.execute(this.db, [
      decision.status,
      decision.subject,
      decision.grantedScopes.join(' '),
      JSON.stringify(decision.accessTokenExtra),
      JSON.stringify(decision.idTokenExtra),
      decision.rejectReason,
      now,
      decision.authTime ?? null,
      id,
      'pending',
      now,
    ]);
    return Number(numAffectedRows) === 1;
  }

  async consume(id: string, query: string, now: number): Promise<ConsentRecord | undefined> {
    const [row] = (await this.use.execute(this.db, [now, id, query, 'pending', now])).rows;
    return row && fromRow(row);
  }
}

/** The columns of a consent request in the order toRow writes them. */
const CONSENT_COLUMNS: readonly (keyof ConsentRequestTable)[] = [
  'id',
  'client_id',
  'query',
  'response_type',
  'redirect_uri',
  'redirect_uri_given',
  'requested_scopes',
  'state',
  'nonce',
  'code_challenge',
  'requested_at',
  'expires_at',
  'status',
  'subject',
  'granted_scopes',
  'access_token_extra',
  'id_token_extra',
  'reject_reason',
  'decided_at',
  'auth_time',
  'used_at',
  'skip',
];

function toRow(record: ConsentRecord): ConsentRequestTable {
  return {
    id: record.id,
    client_id: record.clientId,
    query: record.query,
    response_type: record.responseType,
    redirect_uri: record.redirectUri,
    redirect_uri_given: record.redirectUriGiven ? 1 : 0,
    requested_scopes: record.requestedScopes.join(' '),
    state: record.state,
    nonce: record.nonce,
    code_challenge: record.codeChallenge,
    requested_at: record.requestedAt,
    expires_at: record.expiresAt,
    status: record.status,
    subject: record.subject,
    granted_scopes: record.grantedScopes.join(' '),
    access_token_extra: JSON.stringify(record.accessTokenExtra),
    id_token_extra: JSON.stringify(record.idTokenExtra),
    reject_reason: record.rejectReason,
    decided_at: record.decidedAt ?? null,
    auth_time: record.authTime ?? null,
    used_at: record.usedAt ?? null,
    skip: record.skip ? 1 : 0,
  };
}

const words = (text: string) => (text ? text.split(' ') : []);

function fromRow(row: Selectable<ConsentRequestTable>): ConsentRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    query: row.query,
    responseType: row.response_type,
    redirectUri: row.redirect_uri,
    redirectUriGiven: row.redirect_uri_given === 1,
    requestedScopes: words(row.requested_scopes),
    state: row.state,
    nonce: row.nonce,
    codeChallenge: row.code_challenge,
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
    status: row.status as ConsentStatus,
    subject: row.subject,
    grantedScopes: words(row.granted_scopes),
    accessTokenExtra: JSON.parse(row.access_token_extra) as Record<string, unknown>,
    idTokenExtra: JSON.parse(row.id_token_extra) as Record<string, unknown>,
    rejectReason: row.reject_reason,
    decidedAt: row.decided_at ?? undefined,
    authTime: row.auth_time ?? undefined,
    usedAt: row.used_at ?? undefined,
    skip: row.skip === 1,
  };
}
