import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLock } from '../../tools/envtest/lock.js';

const LOCK_MODULE = fileURLToPath(new URL('../../tools/envtest/lock.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The other contender is another process, as it is in real life: a lock cannot tell two holders in one process apart.
const CONTENDER = `
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
const { withLock } = await import(process.env.LOCK_MODULE);
await withLock(process.env.LOCK_PATH, async () => {
  process.stdout.write('holding\\n');
  process.stdin.resume();
  await once(process.stdin, 'end');
  writeFileSync(process.env.BUILT_PATH, 'kube-apiserver');
});
`;

interface Contender {
  child: ChildProcessWithoutNullStreams;
  /** Exit code, once it has let go of the lock and ended. */
  exited: Promise<number | null>;
}

async function startContender(lockPath: string, builtPath: string): Promise<Contender> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CONTENDER], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOCK_MODULE, LOCK_PATH: lockPath, BUILT_PATH: builtPath },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  for await (const chunk of child.stdout) {
    stdout += (chunk as Buffer).toString();
    if (stdout.includes('holding')) return { child, exited };
  }
  throw new Error(`contender exited without taking the lock: ${stderr}`);
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

describe('envtest build lock', () => {
  let dir: string;
  let lockPath: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    lockPath = join(dir, 'build.lock');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a second contender wait, saying for whom once, then see what the first built', async () => {
    const builtPath = join(dir, 'kube-apiserver');
    const first = await startContender(lockPath, builtPath);
    const waitedFor: number[] = [];
    let secondSawBuild: boolean | undefined;
    const second = withLock(
      lockPath,
      async () => {
        secondSawBuild = existsSync(builtPath);
        expect(readFileSync(lockPath, 'utf8')).toBe(`${process.pid} ${hostname()}\n`);
      },
      { pollMs: 20, onWait: (pid) => waitedFor.push(pid) },
    );

    // Several polls' worth of waiting: the second must still be outside the lock, having said so only once.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(secondSawBuild).toBeUndefined();
    expect(waitedFor).toEqual([first.child.pid]);

    first.child.stdin.end();
    await second;
    expect(secondSawBuild).toBe(true);
    expect(waitedFor).toEqual([first.child.pid]);
    expect(await first.exited).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['kube-apiserver']);
  });

  it('takes over a lock whose holder died without releasing it', async () => {
    writeFileSync(lockPath, `${await deadPid()} ${hostname()}\n`);
    const waitedFor: number[] = [];
    const onWait = (pid: number) => waitedFor.push(pid);
    const result = await withLock(lockPath, async () => readFileSync(lockPath, 'utf8'), { pollMs: 20, onWait });
    expect(result).toBe(`${process.pid} ${hostname()}\n`);
    expect(waitedFor).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('releases the lock when the work fails, so the next set-up does not wait', async () => {
    await expect(
      withLock(lockPath, async () => {
        throw new Error('go build of kube-apiserver failed (exit 1)');
      }),
    ).rejects.toThrow('go build of kube-apiserver failed (exit 1)');
    expect(existsSync(lockPath)).toBe(false);

    const builtPath = join(dir, 'kube-apiserver');
    const next = await startContender(lockPath, builtPath);
    next.child.stdin.end();
    expect(await next.exited).toBe(0);
    expect(existsSync(builtPath)).toBe(true);
  });
});
