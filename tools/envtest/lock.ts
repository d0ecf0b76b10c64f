// Clones on one machine share the envtest cache, and two set-ups started together would each spend minutes building
// the same kube-apiserver. A lock file naming its holder lets the second wait and reuse the first one's build, and
// lets anyone take over a lock whose holder died without releasing it (Ctrl-C, OOM killer).
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** Told once, with the holder's pid, when another live process holds the lock and waiting begins. */
  onWait?: (holderPid: number) => void;
  /** How often to look again while waiting; a build takes minutes, so the default second is plenty. */
  pollMs?: number;
}

// The host matters when the cache sits on a shared network home: a pid from another machine says nothing here.
const ownContent = (): string => `${process.pid} ${hostname()}\n`;

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

function readLock(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function holderOf(content: string): { pid: number; host: string | undefined } {
  const [pid, host] = content.trim().split(/\s+/);
  return { pid: Number(pid), host };
}

function holderIsAlive(content: string): boolean {
  const { pid, host } = holderOf(content);
  // Unreadable content cannot be waited out; treating it as dead is the only way forward.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, only owned by another user.
    return errorCode(error) !== 'ESRCH';
  }
}

// The lock appears by link(2) of a file already holding our pid, so no one ever reads a half-written lock.
function tryCreate(path: string): boolean {
  const draft = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, ownContent());
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(draft, { force: true });
  }
}

// Moving the lock aside before deleting it means two contenders who both saw the dead holder cannot both take over:
// the slower one finds either nothing to move or a live lock, which it puts back.
function removeStale(path: string, staleContent: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') !== staleContent) linkSync(aside, path);
  } catch (error) {
    // EEXIST: a third contender got in meanwhile; the lock is held either way.
    if (errorCode(error) !== 'EEXIST') throw error;
  } finally {
    rmSync(aside, { force: true });
  }
}

async function acquire(path: string, { onWait, pollMs = 1000 }: LockOptions): Promise<void> {
  let toldWaiting = false;
  for (;;) {
    if (tryCreate(path)) return;
    const content = readLock(path);
    if (content === undefined) continue; // released between our attempt and our look
    if (!holderIsAlive(content)) {
      removeStale(path, content);
      continue;
    }
    if (!toldWaiting) {
      toldWaiting = true;
      onWait?.(holderOf(content).pid);
    }
    await sleep(pollMs);
  }
}

function release(path: string): void {
  // Only our own: had we been taken for dead, the lock is now someone else's.
  if (readLock(path) === ownContent()) rmSync(path, { force: true });
}

/** Runs work while holding the lock file at path, waiting for any live holder first; releases it however work ends. */
export async function withLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await acquire(path, options);
  try {
    return await work();
  } finally {
    release(path);
  }
}
