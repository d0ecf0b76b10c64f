import type { CompiledQuery, Kysely, QueryResult } from 'kysely';

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
    return db.executeQuery({ ...this.compiled, parameters });
  }
}
