// Group commit on SQLite (src/db/sqlite-group-commit.ts): every statement of an event-loop turn that writes runs in one
// transaction committed at the end of the turn, and a statement's promise settles only after that commit. Checked on a
// real database file, with a second connection standing for anyone else reading it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { BatchWriter } from '../../src/db/batch-writer.js';
import { PrecompiledQuery } from '../../src/db/precompiled.js';
import { GroupCommitSqliteDialect } from '../../src/db/sqlite-group-commit.js';
import type { Database } from '../../src/db/tables.js';

describe('group commit on SQLite', () => {
  let dir: string;
  let path: string;
  let database: DatabaseHandle;
  let db: Kysely<Database>;
  let observer: SQLite.Database;

  const insert = (name: string, parent?: string) => sql`insert into items (name, parent) values (${name}, ${parent ?? null})`.execute(db);
  const namesSeenByOthers = () => (observer.prepare('select name from items order by id').all() as { name: string }[]).map((row) => row.name);
  /** Takes the write lock from another connection without waiting; throws while someone holds it. */
  const lockFromOutside = () => {
    const locker = new SQLite(path, { timeout: 0 });
    try {
      locker.prepare('begin immediate').run();
      locker.prepare('rollback').run();
    } finally {
      locker.close();
    }
  };
  // Microtasks only, so no turn can end meanwhile: enough for kysely 0.29's path from a query to the driver.
  const afterMicrotasks = async () => {
    for (let i = 0; i < 50; i++) await Promise.resolve();
  };
  const namesSeenByServer = async () => (await sql<{ name: string }>`select name from items order by id`.execute(db)).rows.map((row) => row.name);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-group-commit-'));
    path = join(dir, 'gatehouse.sqlite');
    database = openDatabase(`sqlite://${path}`);
    db = database.db;
    // The parent reference is checked at COMMIT (deferred): the way to make a commit, not a statement, fail.
    await sql`create table items (id integer primary key, name text not null unique, parent text references items (name) deferrable initially deferred)`.execute(
      db,
    );
    observer = new SQLite(path, { readonly: true });
  });

  afterEach(async () => {
    observer.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('settles the writes of a turn together, once they are committed, and not before', async () => {
    const settledAt: string[][] = [];
    const writes = [insert('a'), insert('b'), sql`update items set name = 'c' where name = 'b'`.execute(db)].map((write) =>
      write.then(() => settledAt.push(namesSeenByOthers())),
    );
    await afterMicrotasks();
    // The statements have run: their transaction holds the write lock. Nobody else sees them, and none has settled.
    expect(() => lockFromOutside()).toThrow(/locked/);
    expect(settledAt).toEqual([]);
    expect(namesSeenByOthers()).toEqual([]);
    await Promise.all(writes);
    expect(settledAt).toEqual([
      ['a', 'c'],
      ['a', 'c'],
      ['a', 'c'],
    ]);
  });

  it('lets a batch writer flushing at the end of the turn join the turn’s commit', async () => {
    const precompiled = new PrecompiledQuery({ compile: () => CompiledQuery.raw('insert into items (name) values (?)', ['']) });
    const batch = new BatchWriter<string>(async (names) => {
      for (const name of names) await precompiled.execute(db, [name]);
    });
    const settledAt: string[][] = [];
    const update = insert('opened the turn').then(() => settledAt.push(namesSeenByOthers()));
    await afterMicrotasks();
    // Scheduled after the turn's transaction opened, so after its commit too, were both plain setImmediate callbacks.
    const batched = batch.write('batched').then(() => settledAt.push(namesSeenByOthers()));
    await Promise.all([update, batched]);
    expect(settledAt).toEqual([
      ['opened the turn', 'batched'],
      ['opened the turn', 'batched'],
    ]);
  });

  it('answers a read of the turn with the turn’s writes, and only once they are committed', async () => {
    const write = insert('a');
    const read = namesSeenByServer().then((names) => ({ names, committed: namesSeenByOthers() }));
    await write;
    expect(await read).toEqual({ names: ['a'], committed: ['a'] });
  });

  it('fails every statement of a turn whose commit fails, and keeps none of them', async () => {
    const results = await Promise.allSettled([insert('a'), insert('orphan', 'no such parent'), insert('b')]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(namesSeenByOthers()).toEqual([]);
    // The connection is usable again: the next turn commits.
    await insert('c');
    expect(namesSeenByOthers()).toEqual(['c']);
  });

  it('fails only the statement SQLite refuses on its own; the rest of its turn is written', async () => {
    await insert('taken');
    const results = await Promise.allSettled([insert('a'), insert('taken'), insert('b')]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(namesSeenByOthers()).toEqual(['taken', 'a', 'b']);
  });

  it('commits the open turn before an explicit transaction, and holds other statements until the transaction ends', async () => {
    const before = insert('before');
    await afterMicrotasks();
    let during: Promise<unknown> | undefined;
    let duringSettled = false;
    await db.transaction().execute(async (tx) => {
      await sql`insert into items (name) values ('inside')`.execute(tx);
      expect(namesSeenByOthers()).toEqual(['before']);
      during = insert('during').then(() => (duringSettled = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(duringSettled).toBe(false);
      expect((await sql<{ name: string }>`select name from items order by id`.execute(tx)).rows.map((row) => row.name)).toEqual(['before', 'inside']);
    });
    await before;
    await during;
    expect(namesSeenByOthers()).toEqual(['before', 'inside', 'during']);
  });

  it('lets the others go on after a transaction rolls back', async () => {
    let during: Promise<unknown> | undefined;
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`insert into items (name) values ('undone')`.execute(tx);
        during = insert('during');
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await during;
    expect(namesSeenByOthers()).toEqual(['during']);
  });

  it('waits for another connection’s write lock on a timer, so the holder, in this very process, can finish', async () => {
    // SQLite's busy handler would sleep on the event loop, and the turn holding the lock could never commit.
    const other = openDatabase(`sqlite://${path}`);
    try {
      const mine = insert('mine');
      await afterMicrotasks();
      const theirs = sql`insert into items (name) values ('theirs')`.execute(other.db);
      let theirsInTransaction: Promise<unknown> | undefined;
      await db.transaction().execute(async (tx) => {
        await sql`insert into items (name) values ('inside')`.execute(tx);
        theirsInTransaction = other.db.transaction().execute((otherTx) => sql`insert into items (name) values ('their transaction')`.execute(otherTx));
        await new Promise((resolve) => setTimeout(resolve, 20));
      });
      await Promise.all([mine, theirs, theirsInTransaction]);
      // Who gets the lock first once it is free is not promised; that everyone gets it is.
      expect(namesSeenByOthers().sort()).toEqual(['inside', 'mine', 'their transaction', 'theirs']);
    } finally {
      await other.close();
    }
  });

  it('puts statements precompiled outside kysely in the same turn as the others', async () => {
    const precompiled = new PrecompiledQuery({ compile: () => CompiledQuery.raw('insert into items (name, parent) values (?, ?)', ['', null]) });
    const results = await Promise.allSettled([precompiled.execute(db, ['a', null]), insert('orphan', 'no such parent'), precompiled.execute(db, ['b', null])]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await precompiled.execute(db, ['c', null]);
    expect(namesSeenByOthers()).toEqual(['c']);
  });

  it('fails the statements before one whose error makes SQLite undo the whole turn; the next turn goes on', async () => {
    await insert('taken');
    const results = await Promise.allSettled([insert('a'), sql`insert or rollback into items (name) values ('taken')`.execute(db)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    await insert('b');
    expect(namesSeenByOthers()).toEqual(['taken', 'b']);
  });

  it('rolls back an explicit transaction whose COMMIT fails, and goes on', async () => {
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`insert into items (name) values ('a')`.execute(tx);
        await sql`insert into items (name, parent) values ('orphan', 'no such parent')`.execute(tx);
      }),
    ).rejects.toThrow(/FOREIGN KEY/);
    await insert('b');
    expect(namesSeenByOthers()).toEqual(['b']);
  });

  describe('on a driver of its own', () => {
    const BUSY_TIMEOUT_MS = 100;
    let own: Kysely<Record<string, never>>;
    let dialect: GroupCommitSqliteDialect;

    beforeEach(() => {
      const connection = new SQLite(path);
      dialect = new GroupCommitSqliteDialect(
        {
          prepare: (text) => connection.prepare(text),
          get inTransaction() {
            return connection.inTransaction;
          },
          close: () => connection.close(),
        },
        BUSY_TIMEOUT_MS,
      );
      own = new Kysely({ dialect });
    });

    afterEach(() => own.destroy());

    it('fails the writers queued behind a lock held past the busy timeout together, with one error', async () => {
      const holder = new SQLite(path);
      holder.prepare('begin immediate').run();
      const results = await Promise.allSettled(['a', 'b', 'c'].map((name) => sql`insert into items (name) values (${name})`.execute(own)));
      holder.prepare('rollback').run();
      holder.close();
      const reasons = results.map((result) => (result as PromiseRejectedResult).reason as Error);
      expect(reasons[0]!.message).toBe(`SQLite: the database stayed locked by another connection for ${BUSY_TIMEOUT_MS} ms`);
      // The servers' error handlers answer 503 for it (temporarily_unavailable on the OAuth 2.0 endpoints), not 500.
      expect(reasons[0]).toMatchObject({ statusCode: 503 });
      expect(new Set(reasons).size).toBe(1);
      await sql`insert into items (name) values ('after')`.execute(own);
      expect(namesSeenByOthers()).toEqual(['after']);
    });

    it('answers reads while a transaction waits for another connection’s lock', async () => {
      const holder = new SQLite(path);
      holder.prepare('begin immediate').run();
      const transaction = own.transaction().execute((tx) => sql`insert into items (name) values ('in the transaction')`.execute(tx));
      // Its BEGIN has been refused once by now and waits on a timer; the lock is let go within this macrotask, long
      // before the busy timeout.
      await afterMicrotasks();
      expect((await sql<{ n: number }>`select count(*) as n from items`.execute(own)).rows).toEqual([{ n: 0 }]);
      holder.prepare('rollback').run();
      holder.close();
      await transaction;
      expect(namesSeenByOthers()).toEqual(['in the transaction']);
    });

    it('commits what a turn holds when the database is closed, and refuses statements after', async () => {
      // Kysely destroys only a driver it has initialised.
      await sql`select 1`.execute(own);
      const write = sql`insert into items (name) values ('last')`.execute(own);
      await afterMicrotasks();
      await own.destroy();
      await write;
      expect(namesSeenByOthers()).toEqual(['last']);
      await expect(dialect.driver.executePlain(CompiledQuery.raw('select 1'))).rejects.toThrow('SQLite: the database is closed');
    });
  });
});
