import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configKeys } from '../src/config/schema.js';
import type { Children } from './children.js';

export interface RunningServer {
  url: string;
  pid: number | undefined;
}

export interface Gatehouse extends RunningServer {
  rootId: string;
  rootSecret: string;
}

/** A port nothing listens on right now; the tiny window before the child binds it is acceptable for a benchmark. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/** Polls until `url` answers 200; load sent before that would measure start-up, or errors. */
export async function waitUntilReady(name: string, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready at ${url} after ${timeoutMs / 1000} s (${last})`);
}

export async function startBareServer(children: Children, root: string): Promise<RunningServer> {
  const port = await freePort();
  const child = children.service('the bare http server', process.execPath, [join(root, 'bench/bare-server.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const url = `http://127.0.0.1:${port}/`;
  await waitUntilReady('the bare http server', url);
  return { url, pid: child.pid };
}

export interface GatehouseOptions {
  dataDir: string;
  logLevel: string;
  /** Extra flags for the server's node, e.g. --cpu-prof when profiling. */
  nodeFlags: string[];
}

/**
 * `gatehouse serve` from dist/, on a fresh SQLite file, configured only by what is set here: Gatehouse settings left
 * in the caller's environment (CORS, policies, a database URL…) would make runs on different shells incomparable.
 */
export async function startGatehouse(children: Children, root: string, options: GatehouseOptions): Promise<Gatehouse> {
  const port = await freePort();
  const rootId = 'bench-root';
  const rootSecret = randomBytes(24).toString('base64url');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of configKeys) delete env[key];
  Object.assign(env, {
    DATABASE_URL: `sqlite://${join(options.dataDir, 'gatehouse.sqlite')}`,
    SYSTEM_SECRET: randomBytes(24).toString('base64url'),
    FORCE_ROOT_CLIENT_CREDENTIALS: `${rootId}:${rootSecret}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    LOG_LEVEL: options.logLevel,
    // The flow driver's virtual users stand for thousands of browsers, all from one address here.
    AUTHORIZE_ADDRESS_BURST: '0',
  });
  const child = children.service('gatehouse serve', process.execPath, [...options.nodeFlags, join(root, 'bin/gatehouse.js'), 'serve'], {
    env,
    cwd: options.dataDir,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady('gatehouse serve', `${url}/health/ready`);
  return { url, pid: child.pid, rootId, rootSecret };
}
