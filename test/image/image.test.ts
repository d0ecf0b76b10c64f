// The images as a cluster would get them: built (or taken from the cache) by tools/image, unpacked from their OCI
// archives, and run from a read-only root with the image's own entrypoint, user and environment.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGatehouseImage, buildPostgresImage } from '../../tools/image/build.js';
import { freePort } from '../support/free-port.js';
import { httpStatus } from '../support/probes.js';
import { runContainer, startContainer, stopContainer, type Container } from './container.js';
import { unpackOciArchive, type ImageConfig } from './oci.js';

interface Unpacked {
  archive: string;
  reference: string;
  rootfs: string;
  config: ImageConfig;
}

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-image-test-'));
const running = new Set<Container>();

/** The names the archive's index gives its images, which is what `ctr images import` and kind read. */
function archivedNames(archive: string): string[] {
  const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' })) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  return index.manifests.map((manifest) => manifest.annotations?.['org.opencontainers.image.ref.name'] ?? '');
}

function unpack(built: { archive: string; reference: string }, name: string): Unpacked {
  return { ...built, ...unpackOciArchive(built.archive, join(scratch, name)) };
}

/** A folder on the host for a volume, owned by the image's user as fsGroup or an init container would make it. */
function volume(name: string, owner: number): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  chownSync(dir, owner, owner);
  return dir;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, container: Container, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (container.process.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${what}: not after ${timeoutMs} ms (exit ${container.process.exitCode}); output:\n${container.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function start(...args: Parameters<typeof startContainer>): Container {
  const container = startContainer(...args);
  running.add(container);
  void container.exited.then(() => running.delete(container));
  return container;
}

let gatehouse: Unpacked;
let postgres: Unpacked;

beforeAll(async () => {
  gatehouse = unpack(await buildGatehouseImage(), 'gatehouse');
  postgres = unpack(await buildPostgresImage(), 'postgres');
});

afterAll(async () => {
  for (const container of running) await stopContainer(container, 1_000).catch(() => container.process.kill('SIGKILL'));
  rmSync(scratch, { recursive: true, force: true });
});

describe('the Gatehouse image', () => {
  it('is named docker.io/library/gatehouse:<package version> inside its archive', () => {
    expect(gatehouse.reference).toBe(`docker.io/library/gatehouse:${version}`);
    expect(archivedNames(gatehouse.archive)).toEqual([gatehouse.reference]);
  });

  it('runs the gatehouse CLI, serve by default, as a numeric non-root user, with /data its volume and no HEALTHCHECK', () => {
    const { config } = gatehouse;
    expect(config.User).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(config.Entrypoint).toEqual(['/usr/local/bin/gatehouse']);
    expect(config.Cmd).toEqual(['serve']);
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/data']);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['4444/tcp']);
    expect(config.Healthcheck).toBeUndefined();
  });

  it('carries Node.js but neither npm nor a compiler', () => {
    const has = (path: string) => existsSync(join(gatehouse.rootfs, path));
    expect(has('usr/local/bin/node')).toBe(true);
    for (const absent of [
      'usr/local/bin/npm',
      'usr/local/bin/npx',
      'usr/local/lib/node_modules',
      'usr/bin/gcc',
      'usr/bin/g++',
      'usr/bin/make',
      'usr/bin/python3',
    ]) {
      expect(has(absent), absent).toBe(false);
    }
  });

  it('prints its version on Node.js 24', async () => {
    const { code, output } = await runContainer({ ...gatehouse, args: ['--version'] });
    expect(code, output).toBe(0);
    expect(output.trim()).toMatch(new RegExp(`^gatehouse ${version.replace(/\./g, '\\.')} \\(node v24\\.\\d+\\.\\d+\\)$`));
  });

  it('answers operator --help and migrate --help', async () => {
    for (const command of ['operator', 'migrate']) {
      const { code, output } = await runContainer({ ...gatehouse, args: [command, '--help'] });
      expect(code, output).toBe(0);
      expect(output).toContain(`Usage: gatehouse ${command}`);
    }
  });

  it('serves on SQLite from a read-only root, writing only to /data, and stops on SIGTERM', async () => {
    const data = volume('data', 10001);
    const port = await freePort();
    const server = start({ ...gatehouse, env: { PORT: String(port) }, volumes: { '/data': data } });
    await waitFor('GET /health/alive', async () => ((await httpStatus(`http://127.0.0.1:${port}/health/alive`)) === 200 ? true : undefined), server);
    const response = await fetch(`http://127.0.0.1:${port}/health/alive`);
    expect(await response.json()).toEqual({ status: 'ok' });
    for (const file of ['gatehouse.sqlite', 'system-secret']) {
      expect(statSync(join(data, file)).uid, file).toBe(10001);
    }
    expect(await stopContainer(server), server.output()).toBe(0);
  });
});

describe('the PostgreSQL image', () => {
  it('is named docker.io/library/gatehouse-postgres:15-local and runs as the postgres user (999)', () => {
    expect(postgres.reference).toBe('docker.io/library/gatehouse-postgres:15-local');
    expect(archivedNames(postgres.archive)).toEqual([postgres.reference]);
    expect(postgres.config.User).toBe('999:999');
    expect(Object.keys(postgres.config.Volumes ?? {})).toEqual(['/var/lib/postgresql/data']);
  });

  it('refuses an empty volume without POSTGRES_PASSWORD', async () => {
    const { code, output } = await runContainer({ ...postgres, volumes: { '/var/lib/postgresql/data': volume('pgdata', 999) } });
    expect(code).toBe(1);
    expect(output).toContain('POSTGRES_PASSWORD is required');
  });

  it('initialises POSTGRES_DB with a password, listens on all addresses, and Gatehouse migrates it', async () => {
    const data = volume('pgdata', 999);
    const port = await freePort();
    const password = 'image-test-password';
    const server = start({
      ...postgres,
      args: ['postgres', '-p', String(port)],
      env: { POSTGRES_PASSWORD: password, POSTGRES_DB: 'gatehouse' },
      volumes: { '/var/lib/postgresql/data': data },
    });
    const connect = async (secret: string) => {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: secret, database: 'gatehouse' });
      await client.connect();
      return client;
    };
    const client = await waitFor('a connection with the password', () => connect(password).catch(() => undefined), server);
    try {
      const { rows } = await client.query<{ db: string; listen: string; encryption: string; jit: boolean }>(
        "SELECT current_database() AS db, current_setting('listen_addresses') AS listen, current_setting('password_encryption') AS encryption, pg_jit_available() AS jit",
      );
      // No JIT: the image leaves LLVM out.
      expect(rows[0]).toEqual({ db: 'gatehouse', listen: '*', encryption: 'scram-sha-256', jit: false });
    } finally {
      await client.end();
    }
    await expect(connect('wrong-password')).rejects.toMatchObject({ code: '28P01' });
    expect(readFileSync(join(data, 'pgdata', 'pg_hba.conf'), 'utf8')).toMatch(/^host all all 0\.0\.0\.0\/0 scram-sha-256$/m);

    const migrate = await runContainer({
      ...gatehouse,
      args: ['migrate'],
      env: { DATABASE_URL: `postgres://postgres:${password}@127.0.0.1:${port}/gatehouse` },
    });
    expect(migrate.code, migrate.output).toBe(0);
    expect(await stopContainer(server), server.output()).toBe(0);

    // Started again on the same volume, without the password: the cluster is kept, not made anew.
    const again = start({ ...postgres, args: ['postgres', '-p', String(port)], volumes: { '/var/lib/postgresql/data': data } });
    const reconnected = await waitFor('a connection after the restart', () => connect(password).catch(() => undefined), again);
    await reconnected.end();
    expect(again.output()).not.toContain('initialised');
    expect(await stopContainer(again), again.output()).toBe(0);
  });
});
