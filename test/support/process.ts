import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './server.js';

export const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

export interface RunningProcess {
  child: ChildProcess;
  /** Everything the process printed on stdout so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The environment of a `gatehouse serve` on a SQLite file in `dir`, on a loopback port, with the tests' root client
 * and no janitor; `extra` adds or overrides settings.
 */
export function sqliteServeEnv(dir: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: `sqlite://${join(dir, 'gatehouse.sqlite')}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    FORCE_ROOT_CLIENT_CREDENTIALS: `${ROOT.id}:${ROOT.secret}`,
    JANITOR_INTERVAL: 'off',
    ...extra,
  };
}

/**
 * Starts `gatehouse serve` as a real process and waits until /health/ready answers 200. `wrapper` runs it under
 * another program (its command and arguments, e.g. strace), which must exec the server in the same process group.
 */
export async function startServeProcess(
  env: Record<string, string>,
  url: string,
  timeoutMs = 30_000,
  wrapper: string[] = [],
  serveArgs: string[] = [],
): Promise<RunningProcess> {
  const argv = [...wrapper, process.execPath, BIN, 'serve', ...serveArgs];
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gatehouse serve exited with ${child.exitCode}: ${stderr || stdout}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gatehouse serve was not ready within ${timeoutMs} ms: ${stderr || stdout}`);
    }
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    output: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the CLI to completion and returns what it printed. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
