// Readiness polling for servers started as child processes.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { ManagedProcess } from './processes.js';

export interface TlsClient {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function readTlsClient(paths: { ca: string; cert: string; key: string }): TlsClient {
  return { ca: readFileSync(paths.ca), cert: readFileSync(paths.cert), key: readFileSync(paths.key) };
}

/** Status code of a GET, or undefined while nothing answers. */
export function httpsStatus(url: string, tls: TlsClient): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { ...tls, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

export function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class ProcessExitedError extends Error {
  override name = 'ProcessExitedError';
  constructor(
    readonly process: ManagedProcess,
    readonly log: string,
  ) {
    super(`${process.name} exited before it was ready; last lines of ${process.logPath}:\n${log}`);
  }
}

/** Polls until ready() is true; fails fast with the log tail if the process dies meanwhile. */
export async function waitUntilReady(proc: ManagedProcess, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.isRunning()) throw new ProcessExitedError(proc, logTail(proc.logPath));
    if (await ready()) return;
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} not ready after ${timeoutMs} ms; last lines of ${proc.logPath}:\n${logTail(proc.logPath)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
