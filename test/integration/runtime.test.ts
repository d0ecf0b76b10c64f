import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { BIN, startServeProcess, type RunningProcess } from '../support/process.js';
import { ROOT } from '../support/server.js';
import { basic, sleep } from './helpers.js';

const REQUIRED_MAJOR = 24;
const majorOf = (version: string) => Number(version.replace(/^v/, '').split('.')[0]);

/** The machine's own Node (these machines ship 20), if one older than ours is installed where systems put it. */
function olderSystemNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    if (version && majorOf(version) < REQUIRED_MAJOR) return candidate;
  }
  return undefined;
}

async function runtimeMajorOf(url: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const major = /^nodejs_version_info\{[^}]*major="(\d+)"/m.exec(metrics)?.[1];
      if (major) return Number(major);
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no nodejs_version_info from ${url}/metrics within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the Node.js that runs Gatehouse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-runtime-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`runs the test suite on Node.js ${REQUIRED_MAJOR}`, () => {
    expect(majorOf(process.version)).toBe(REQUIRED_MAJOR);
  });

  // `node bin/gatehouse.js serve`, as the README has people type it, with whatever Node the machine has first.
  const systemNode = olderSystemNode();
  it.runIf(systemNode)(`serves on Node.js ${REQUIRED_MAJOR} when started by the machine's older Node, and stops on SIGTERM`, async () => {
    const port = await freePort();
    const env = { ...process.env, DATABASE_URL: `sqlite://${join(dir, 'gatehouse.sqlite')}`, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const child = spawn(systemNode!, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      expect(await runtimeMajorOf(`http://127.0.0.1:${port}`)).toBe(REQUIRED_MAJOR);
    } finally {
      child.kill('SIGTERM');
    }
    // The hand-off forwards the signal; the server shuts down cleanly and the launcher reports its exit code.
    expect(await exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`http://127.0.0.1:${port}/health/alive`)).rejects.toThrow();
  });

  // The launcher re-executes serve in place with its memory settings (docs/decisions.md, "Memory settings").
  async function launchedServe(extraEnv: Record<string, string>) {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: 'memory',
      SYSTEM_SECRET: 'runtime-test-system-secret',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    };
    delete env.GATEHOUSE_RUNTIME_TUNED;
    const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await runtimeMajorOf(`http://127.0.0.1:${port}`);
    const read = (file: string) => readFileSync(`/proc/${child.pid}/${file}`, 'utf8').split('\0');
    const seen = { argv: read('cmdline'), environment: read('environ') };
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    return seen;
  }

  it.runIf(process.platform === 'linux')('gives serve its memory settings in the same process, and lets the user override them', async () => {
    const tuned = await launchedServe({});
    expect(tuned.argv).toContain('--max-semi-space-size=16');
    expect(tuned.environment).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072']));

    const overridden = await launchedServe({ NODE_OPTIONS: '--max-semi-space-size=8', MALLOC_ARENA_MAX: '4' });
    expect(overridden.argv.filter((arg) => arg.startsWith('--max-semi-space-size'))).toEqual([]);
    expect(overridden.environment).toContain('MALLOC_ARENA_MAX=4');
  });
});

describe('gatehouse serve gives memory back when it falls idle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-idle-gc-'));
  let running: RunningProcess | undefined;
  afterAll(async () => {
    await running?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const counter = async (url: string, name: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };

  it('runs one memory-reducing collection after a burst, and none on a server that stays quiet', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    running = await startServeProcess(
      {
        DATABASE_URL: 'memory',
        SYSTEM_SECRET: 'runtime-test-system-secret',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        FORCE_ROOT_CLIENT_CREDENTIALS: `${ROOT.id}:${ROOT.secret}`,
      },
      url,
    );
    await sleep(2_500);
    expect(await counter(url, 'gatehouse_idle_gc_total')).toBe(0);

    // A burst that leaves plenty of garbage: JSON bodies near the 64 KiB BODY_LIMIT, 32 at a time, each parsed in
    // full before it is refused (401); then ordinary token requests.
    const large = JSON.stringify({ client_name: 'x'.repeat(20_000), contacts: Array.from({ length: 1500 }, (_, i) => `ops-${i}@example.com`) });
    for (let round = 0; round < 160; round++) {
      const answers = await Promise.all(
        Array.from({ length: 32 }, () => fetch(`${url}/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: large })),
      );
      expect(answers.map((answer) => answer.status).filter((status) => status !== 401)).toEqual([]);
    }
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'hydra.clients' }).toString();
    const headers = { authorization: basic(ROOT.id, ROOT.secret), 'content-type': 'application/x-www-form-urlencoded' };
    for (let i = 0; i < 100; i++) expect((await fetch(`${url}/oauth2/token`, { method: 'POST', headers, body: form })).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while ((await counter(url, 'gatehouse_idle_gc_total')) < 1 && Date.now() < deadline) await sleep(250);
    expect(await counter(url, 'gatehouse_idle_gc_total')).toBe(1);
    expect(await counter(url, 'gatehouse_idle_gc_freed_bytes_total')).toBeGreaterThan(0);
  });
});
