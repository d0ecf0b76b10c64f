// Long-running child processes (etcd, kube-apiserver) that must never outlive the test run, whether it
// ends normally, is interrupted with Ctrl-C, or is killed outright.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Settles with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  /** SIGTERM to the whole process group, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

// `exec` keeps the server's pid, so its pid is also its process group id. The background loop is a
// watchdog in that group: if the Node process dies without running any handler (SIGKILL, OOM), it
// kills the group, so no etcd or kube-apiserver is left holding ports and memory.
const WATCHDOG = [
  'parent=$1; shift',
  '(while kill -0 "$parent" 2>/dev/null && kill -0 $$ 2>/dev/null; do sleep 1; done',
  ' kill -0 "$parent" 2>/dev/null || kill -s KILL -- -$$ 2>/dev/null) &',
  'exec "$@"',
].join('\n');

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export function startProcess(name: string, command: string, args: readonly string[], logPath: string): ManagedProcess {
  const log = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', WATCHDOG, `${name}-watchdog`, String(process.pid), command, ...args], {
      detached: true,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let running = true;
  let stopping: Promise<void> | undefined;
  const unregister = onProcessExit(() => signalGroup(pid, 'SIGKILL'));
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running = false;
      unregister();
      resolve(code ?? signal ?? 'unknown');
    });
  });

  return {
    name,
    pid,
    logPath,
    exited,
    isRunning: () => running,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (running) {
          signalGroup(pid, 'SIGTERM');
          const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        // The watchdog shares the group and may still be sleeping.
        signalGroup(pid, 'SIGKILL');
      })();
      return stopping;
    },
  };
}

const cleanups = new Set<() => void>();
let hooksInstalled = false;

function runCleanups(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Keep going: the remaining cleanups matter more than reporting this one during shutdown.
    }
  }
  cleanups.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', runCleanups);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      // If someone else (vitest, `npm run cluster`) listens too, they decide how to shut down and the
      // exit hook still cleans up. Alone, we must restore the default: clean up and die by the signal.
      if (process.listenerCount(signal) > 1) return;
      runCleanups();
      process.removeListener(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

/**
 * Registers synchronous work to run however the process ends (handlers cannot await on exit).
 * Returns a function that unregisters it.
 */
export function onProcessExit(cleanup: () => void): () => void {
  installHooks();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
