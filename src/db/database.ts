import { mkdirSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './tables.js';
import { BackgroundCheckpointer, type CheckpointEvent } from './checkpointer.js';
import { WalFlusher, type NotDurableError } from './wal-flusher.js';
import { GroupCommitSqliteDialect, type SqliteStatements } from './sqlite-group-commit.js';
import { executePlainStatementsWith } from './precompiled.js';

export type DatabaseKind = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** Where a SQLite database lives on disk; undefined for memory and PostgreSQL. */
  sqlitePath: string | undefined;
  /**
   * Settles once every transaction committed so far survives power loss, not just a crash of the process. Called
   * after each write the API acknowledges (clients, policies, keys) and never for tokens, which stay group-committed.
   */
  makeDurable(): Promise<void>;
  /** Set once a sync failed: from then on no change can be acknowledged (the server reports itself not ready). */
  durabilityFailure(): NotDurableError | undefined;
  close(): Promise<void>;
}

// 16,000 pages of 4 KiB: a WAL of at most about 64 MiB before a commit checkpoints on the event loop.
const BACKSTOP_CHECKPOINT_PAGES = 16_000;

// How long a statement waits for another connection's lock on the embedded database before it fails.
const BUSY_TIMEOUT_MS = 5000;

// PostgreSQL's int8 arrives as a string by default; our bigints are epoch milliseconds, well inside 2^53.
const INT8_OID = 20;

// pg is loaded only for a postgres:// URL, so the embedded default does not keep its driver in memory.
function loadPg(): typeof pg {
  return createRequire(import.meta.url)('pg') as typeof pg;
}

export function openDatabase(url: string, options: { poolSize?: number; onCheckpoint?: (event: CheckpointEvent) => void } = {}): DatabaseHandle {
  if (url === 'memory' || url.startsWith('sqlite://')) {
    const sqlitePath = url === 'memory' ? undefined : resolve(url.slice('sqlite://'.length));
    if (sqlitePath) mkdirSync(dirname(sqlitePath), { recursive: true });
    const connection = new SQLite(sqlitePath ?? ':memory:');
    // WAL lets readers run beside the writer. NORMAL sync is durable across process crashes and loses at most the
    // last transactions on power loss; the writes that must survive that too are flushed by makeDurable.
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    connection.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // better-sqlite3 builds SQLite with a 16 MB page cache; under token load it fills with pages of tokens written
    // once and rarely read again. SQLite's stock 2 MB holds the hot pages (clients, recent tokens, the indexes) and
    // cost no measurable throughput in `npm run bench`; misses are served from the OS page cache.
    connection.pragma('cache_size = -2000');
    connection.pragma('foreign_keys = ON');
    // Checkpoints run on a worker thread (checkpointer.ts); the autocheckpoint is only the backstop should it fail or
    // fall behind.
    if (sqlitePath) connection.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    const dialect = new GroupCommitSqliteDialect(withStatementCache(connection), BUSY_TIMEOUT_MS);
    const db = new Kysely<Database>({ dialect });
    executePlainStatementsWith(db, dialect.driver);
    // SQLite puts the WAL beside the file a symlink points to, not beside the link.
    const walPath = sqlitePath ? `${realpathSync(sqlitePath)}-wal` : undefined;
    const wal = walPath ? new WalFlusher(walPath) : undefined;
    const checkpointer = sqlitePath && walPath ? new BackgroundCheckpointer(sqlitePath, walPath, options.onCheckpoint) : undefined;
    return {
      db,
      kind: 'sqlite',
      sqlitePath,
      makeDurable: () => wal?.flush() ?? Promise.resolve(),
      durabilityFailure: () => wal?.failed,
      close: async () => {
        await checkpointer?.close();
        await db.destroy();
        await dialect.driver.destroy();
        await wal?.close();
      },
    };
  }
  const { Pool, types } = loadPg();
  const pgTypes = {
    getTypeParser: (oid: number, format?: string) => (oid === INT8_OID ? (value: string) => Number(value) : types.getTypeParser(oid, format as 'text')),
  };
  const pool = new Pool({ connectionString: url, max: options.poolSize ?? 10, types: pgTypes });
  // An idle connection dropped by the server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // PostgreSQL's default synchronous_commit=on has flushed the WAL before a commit returns (docs/decisions.md: keep it).
  return {
    db,
    kind: 'postgres',
    sqlitePath: undefined,
    makeDurable: () => Promise.resolve(),
    durabilityFailure: () => undefined,
    close: () => db.destroy(),
  };
}

function migratorFor(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
  });
}

/**
 * Kysely prepares every statement anew; on the hot paths preparing costs several times what running does. The SQL
 * texts are parametrised, so a small cache keyed by text reuses them. Safe because better-sqlite3 is synchronous:
 * a statement finishes before the next one starts.
 */
function withStatementCache(connection: SQLite.Database, capacity = 512): SqliteStatements {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => connection.close(),
    get inTransaction() {
      return connection.inTransaction;
    },
    prepare(text: string) {
      let statement = statements.get(text);
      if (!statement) {
        if (statements.size >= capacity) statements.clear();
        statement = connection.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const { error, results } = await migratorFor(db).migrateToLatest();
  if (error) throw new Error(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Pending migrations, so `serve` on PostgreSQL can refuse to start against an old schema with a clear message. */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const all = await migratorFor(db).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
