import type SQLite from 'better-sqlite3';
import { SqliteAdapter, SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import type { PlainExecutor } from './precompiled.js';
import { atTurnEnd } from './turn-end.js';

/** What the driver needs of a better-sqlite3 connection: prepared statements (cached by the caller) and closing. */
export interface SqliteStatements {
  prepare(text: string): SQLite.Statement;
  readonly inTransaction: boolean;
  close(): void;
}

/** Kysely's SQLite dialect with the group-committing driver below. */
export class GroupCommitSqliteDialect extends SqliteDialect {
  readonly driver: GroupCommitSqliteDriver;

  constructor(statements: SqliteStatements, busyTimeoutMs: number) {
    super({ database: statements });
    this.driver = new GroupCommitSqliteDriver(statements, busyTimeoutMs);
  }

  override createDriver(): Driver {
    return this.driver;
  }

  override createAdapter(): SqliteAdapter {
    return new GroupCommitSqliteAdapter();
  }
}

class GroupCommitSqliteAdapter extends SqliteAdapter {
  /**
   * SQLite runs DDL inside transactions, but Kysely's adapter says it does not, so its migrator would commit each
   * statement of a migration on its own and record the migration only at the end: a crash between two ALTERs of one
   * migration left a database every later start failed to migrate ("duplicate column name"). Saying so makes a
   * migration run, with its record, all or nothing, as on PostgreSQL.
   */
  override get supportsTransactionalDdl(): boolean {
    return true;
  }

  // Kysely would otherwise hold one lock per statement until its promise settles, which under group commit is the end
  // of the event-loop turn: statements would run one turn apart. The driver keeps transactions apart itself.
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

/** Another connection held the write lock past the busy timeout: a moment's condition, answered 503, not 500. */
export class DatabaseLockedError extends Error {
  readonly statusCode = 503;

  constructor(busyTimeoutMs: number) {
    super(`SQLite: the database stayed locked by another connection for ${busyTimeoutMs} ms`);
  }
}

interface Settlement {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for every write on the embedded database, updates included. Without it each UPDATE outside a
 * transaction is a transaction of its own: two lock round trips and a WAL append that rewrites the pages the statement
 * before it wrote a moment ago (an authorization-code flow runs three such updates). Here the first write of an
 * event-loop turn opens a transaction, every statement issued after it in that turn runs inside it, and one COMMIT at
 * the end of the turn (turn-end.ts) writes them all. A statement's promise settles only after that COMMIT, so nobody acts on, or
 * acknowledges, a write that is not committed; if the commit fails, every statement of the turn fails with it.
 *
 * Explicit transactions (kysely's db.transaction()) commit the open turn first and then run alone: statements of
 * others wait until they end. Reads outside a turn's transaction run at once, as before. Savepoints are not offered
 * (kysely then refuses them): nothing here nests transactions.
 */
export class GroupCommitSqliteDriver implements Driver, PlainExecutor {
  private turn: Settlement[] | undefined;
  /** The handle running an explicit transaction, from its BEGIN on; statements of other handles wait for it to end. */
  private exclusive: Handle | undefined;
  /** A turn's BEGIN waiting for another connection's write lock; other writers wait for it, not beside it. */
  private opening: Promise<void> | undefined;
  private waiting: (() => void)[] = [];
  /** The handle of statements run outside kysely (executePlain): never in a transaction of its own. */
  private readonly plain = new Handle(this);
  private closed = false;

  constructor(
    private readonly connection: SqliteStatements,
    private readonly busyTimeoutMs: number,
  ) {}

  async init(): Promise<void> {}

  // A new handle per acquisition: kysely calls beginTransaction on the handle it acquired, which is how a
  // transaction's statements are told apart from everyone else's.
  async acquireConnection(): Promise<DatabaseConnection> {
    return new Handle(this);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // If neither COMMIT nor ROLLBACK ended its transaction, it ends here, or no later BEGIN could run.
    this.rollbackAndEnd(connection);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    for (;;) {
      this.refuseIfClosed();
      if (this.exclusive) await this.untilExclusiveEnds();
      else if (this.opening) await this.opening;
      else break;
    }
    this.exclusive = connection as Handle;
    try {
      this.commitTurn();
      // IMMEDIATE: the write lock is taken here, where waiting for it cannot stall the event loop (beginWhenFree),
      // instead of at the transaction's first write, where SQLite's busy handler would sleep on it.
      await this.beginWhenFree();
    } catch (error) {
      this.endExclusive();
      throw error;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.exclusive !== connection) throw new Error('commit without a transaction on this connection');
    try {
      this.connection.prepare('commit').run();
    } finally {
      // A failed COMMIT may leave the transaction open for kysely's rollback; otherwise it has ended either way.
      if (!this.connection.inTransaction) this.endExclusive();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    this.rollbackAndEnd(connection);
  }

  // Idempotent: kysely destroys only a driver it initialised, and statements may all have come through executePlain.
  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.commitTurn();
    // Closing rolls back an explicit transaction still open; whoever waits for it is told the database is closed.
    this.endExclusive();
    this.connection.close();
  }

  executePlain<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.execute<R>(this.plain, query);
  }

  /** Runs one statement for `handle`: inside its explicit transaction, or in this turn's group. */
  async execute<R>(handle: Handle, query: CompiledQuery): Promise<QueryResult<R>> {
    for (;;) {
      this.refuseIfClosed();
      if (this.exclusive === handle) {
        // SQLite ends a transaction on some errors; what the caller runs next must not quietly autocommit.
        if (!this.connection.inTransaction) throw new Error('SQLite: the transaction was rolled back by an earlier error');
        return run<R>(this.connection.prepare(query.sql), query.parameters);
      }
      if (this.exclusive) {
        // While no transaction is open (its BEGIN waits for another connection's lock), it holds nothing: reads need
        // not wait for it.
        if (!this.connection.inTransaction) {
          const statement = this.connection.prepare(query.sql);
          if (statement.readonly) return run<R>(statement, query.parameters);
        }
        await this.untilExclusiveEnds();
        continue;
      }
      const statement = this.connection.prepare(query.sql);
      if (this.turn) return this.runInTurn<R>(this.turn, statement, query.parameters);
      // A read outside a turn sees only committed rows: nothing to wait for.
      if (statement.readonly) return run<R>(statement, query.parameters);
      // Writers queued behind a BEGIN that timed out fail with it, together, instead of each waiting anew.
      if (this.opening) await this.opening;
      else if (!this.tryOpenTurn()) {
        this.opening = this.openTurnWhenFree().finally(() => (this.opening = undefined));
        await this.opening;
      }
    }
  }

  private async runInTurn<R>(turn: Settlement[], statement: SQLite.Statement, parameters: readonly unknown[]): Promise<QueryResult<R>> {
    let result: QueryResult<R>;
    try {
      result = run<R>(statement, parameters);
    } catch (error) {
      // Some errors (a full disk, an I/O error, INSERT OR ROLLBACK) make SQLite roll the whole transaction back: the
      // turn's other statements are undone too and must not be reported as written.
      if (!this.connection.inTransaction) this.failTurn(turn, error);
      throw error;
    }
    await new Promise<void>((resolve, reject) => turn.push({ resolve, reject }));
    return result;
  }

  private tryOpenTurn(): boolean {
    if (!this.tryBegin()) return false;
    this.startTurn();
    return true;
  }

  private async openTurnWhenFree(): Promise<void> {
    await this.beginWhenFree();
    this.startTurn();
  }

  private startTurn(): void {
    const turn: Settlement[] = [];
    this.turn = turn;
    atTurnEnd('commit', () => {
      if (this.turn === turn) this.commitTurn();
    });
  }

  /**
   * BEGIN IMMEDIATE, retried on a timer while another connection holds the write lock, up to the busy timeout. SQLite's
   * own busy handler would sleep on the event loop, and when the holder is another connection of this process (a
   * second server in a test, a turn of its own) it could never let go: a deadlock until the timeout.
   */
  private async beginWhenFree(): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let delay = 1; !this.tryBegin(); delay = Math.min(delay * 2, 25)) {
      if (Date.now() >= deadline) throw new DatabaseLockedError(this.busyTimeoutMs);
      await new Promise((resolve) => setTimeout(resolve, delay));
      this.refuseIfClosed();
    }
  }

  /** BEGIN IMMEDIATE without waiting; false while another connection holds the write lock. */
  private tryBegin(): boolean {
    // Left open only by a COMMIT and a ROLLBACK that both failed: nothing in it was acknowledged, and no BEGIN could
    // run after it.
    this.rollbackIfOpen();
    this.connection.prepare('pragma busy_timeout = 0').run();
    try {
      this.connection.prepare('begin immediate').run();
      return true;
    } catch (error) {
      // Extended codes too (SQLITE_BUSY_RECOVERY, …): all mean "not now".
      if (String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY')) return false;
      throw error;
    } finally {
      // Back for everything else: a read can still meet a lock (another connection recovering the WAL), briefly, and
      // waits for it in SQLite's handler as before.
      this.connection.prepare(`pragma busy_timeout = ${this.busyTimeoutMs}`).run();
    }
  }

  private commitTurn(): void {
    const turn = this.turn;
    if (!turn) return;
    this.turn = undefined;
    let failure: { error: unknown } | undefined;
    try {
      this.connection.prepare('commit').run();
    } catch (error) {
      failure = { error };
      try {
        this.rollbackIfOpen();
      } catch {
        // The turn fails with the COMMIT's error, the one that says what went wrong.
      }
    }
    for (const settlement of turn) {
      if (failure) settlement.reject(failure.error);
      else settlement.resolve();
    }
  }

  private failTurn(turn: Settlement[], error: unknown): void {
    if (this.turn === turn) this.turn = undefined;
    for (const settlement of turn) settlement.reject(error);
  }

  /** Ends the connection's explicit transaction, if it has one; nothing to undo when SQLite already rolled it back. */
  private rollbackAndEnd(connection: DatabaseConnection): void {
    if (this.exclusive !== connection) return;
    try {
      this.rollbackIfOpen();
    } finally {
      this.endExclusive();
    }
  }

  private rollbackIfOpen(): void {
    if (this.connection.inTransaction) this.connection.prepare('rollback').run();
  }

  private refuseIfClosed(): void {
    if (this.closed) throw new Error('SQLite: the database is closed');
  }

  private untilExclusiveEnds(): Promise<void> {
    return new Promise((resume) => this.waiting.push(resume));
  }

  private endExclusive(): void {
    this.exclusive = undefined;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resume of waiting) resume();
  }
}

class Handle implements DatabaseConnection {
  constructor(private readonly driver: GroupCommitSqliteDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, query);
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite here');
  }
}

function run<R>(statement: SQLite.Statement, parameters: readonly unknown[]): QueryResult<R> {
  if (statement.reader) return { rows: statement.all(parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { insertId: BigInt(lastInsertRowid), numAffectedRows: BigInt(changes), rows: [] };
}
