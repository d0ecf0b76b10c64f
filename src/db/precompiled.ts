import type { CompiledQuery, Kysely, QueryResult } from 'kysely';

/** Runs a compiled statement outside any explicit transaction, without kysely's per-statement connection handling. */
export interface PlainExecutor {
  executePlain<R>(query: CompiledQuery): Promise<QueryResult<R>>;
}

const plainExecutors = new WeakMap<object, PlainExecutor>();

/**
 * Lets precompiled statements on `db` itself (not on a transaction of it) go straight to `executor`. On the embedded
 * database kysely's acquire, provide and release of its one connection cost about as much as a primary-key lookup.
 */
export function executePlainStatementsWith<DB>(db: Kysely<DB>, executor: PlainExecutor): void {
  plainExecutors.set(db, executor);
}

/**
 * A query built and compiled once, run many times with new parameter values. Building and compiling through
 * kysely cost about twice what SQLite itself takes for a primary-key lookup, on paths that run for every token
 * request. Build it with placeholder values in the positions the parameters take, in order.
 */
export class PrecompiledQuery<Row> {
  private readonly compiled: CompiledQuery<Row>;

  constructor(query: { compile(): CompiledQuery<Row> }) {
    this.compiled = query.compile();
  }

  execute<DB>(db: Kysely<DB>, parameters: readonly unknown[]): Promise<QueryResult<Row>> {
    if (parameters.length !== this.compiled.parameters.length) {
      throw new Error(`precompiled query takes ${this.compiled.parameters.length} parameters, got ${parameters.length}`);
    }
    return run(db, { ...this.compiled, parameters });
  }
}

/**
 * A multi-row INSERT compiled once per batch size, for the group-committed writes (BatchWriter): building and
 * compiling an insert of many rows through kysely cost more than SQLite's work for it. `build` makes the query for
 * the given rows; `columns` says the order in which a row's values become parameters, which must be the order kysely
 * compiled them in (checked by name on each new batch size, so a mismatch fails loudly instead of writing values into
 * the wrong columns).
 */
export class PrecompiledInsert<Row extends object> {
  private readonly bySize = new Map<number, CompiledQuery<unknown>>();

  constructor(
    private readonly build: (rows: Row[]) => { compile(): CompiledQuery<unknown> },
    private readonly columns: readonly (keyof Row & string)[],
    private readonly maxCached = 512,
  ) {}

  execute<DB>(db: Kysely<DB>, rows: Row[]): Promise<QueryResult<unknown>> {
    const parameters = rows.flatMap((row) => this.columns.map((column) => row[column]));
    let compiled = this.bySize.get(rows.length);
    if (!compiled) {
      compiled = this.build(rows).compile();
      const compiledColumns = (compiled.query as { columns?: readonly { column: { name: string } }[] }).columns?.map((node) => node.column.name) ?? [];
      if (compiledColumns.join() !== this.columns.join() || compiled.parameters.length !== parameters.length) {
        throw new Error(`PrecompiledInsert: kysely compiled the columns ${compiledColumns.join(', ')}, not ${this.columns.join(', ')}`);
      }
      if (this.bySize.size >= this.maxCached) this.bySize.clear();
      this.bySize.set(rows.length, compiled);
    }
    return run(db, { ...compiled, parameters });
  }
}

function run<DB, Row>(db: Kysely<DB>, query: CompiledQuery<Row>): Promise<QueryResult<Row>> {
  const executor = plainExecutors.get(db);
  return executor ? executor.executePlain<Row>(query) : db.executeQuery(query);
}
