import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { BIN } from '../support/process.js';

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
});
