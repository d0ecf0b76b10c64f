// A migration that fails part-way leaves the SQLite database as it was, so the next start can migrate it again: the
// embedded default runs its migrations inside one transaction, as PostgreSQL does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { migrationProvider } from '../../src/db/migrations/index.js';
import type { Database } from '../../src/db/tables.js';

const columnsOf = async (db: Kysely<Database>, table: string) =>
  (await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db)).rows.map((row) => row.name);

describe('SQLite migrations', () => {
  const opened: { handle: DatabaseHandle; dir: string }[] = [];
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrations-'));
    const handle = openDatabase(`sqlite://${join(dir, 'gatehouse.sqlite')}`);
    opened.push({ handle, dir });
    return handle;
  };
  afterEach(async () => {
    for (const { handle, dir } of opened.splice(0)) {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('undoes every statement of a migration that fails part-way, and it runs whole on the next attempt', async () => {
    const { db } = open();
    await migrateToLatest(db);
    let failSecond = true;
    const migrator = new Migrator({
      db,
      migrationTableName: 'gatehouse_migrations',
      migrationLockTableName: 'gatehouse_migrations_lock',
      provider: {
        getMigrations: async () => ({
          ...(await migrationProvider.getMigrations()),
          '999_two_columns': {
            up: async (migrating: Kysely<unknown>) => {
              await migrating.schema.alterTable('clients').addColumn('first_new', 'text').execute();
              if (failSecond) throw new Error('the process died here');
              await migrating.schema.alterTable('clients').addColumn('second_new', 'text').execute();
            },
          },
        }),
      },
    });

    const failed = await migrator.migrateToLatest();
    expect(failed.error).toEqual(new Error('the process died here'));
    expect(await columnsOf(db, 'clients')).not.toContain('first_new');

    failSecond = false;
    const retried = await migrator.migrateToLatest();
    expect(retried.error).toBeUndefined();
    expect(await columnsOf(db, 'clients')).toEqual(expect.arrayContaining(['first_new', 'second_new']));
  });
});
