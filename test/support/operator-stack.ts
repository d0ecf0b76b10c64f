import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { KubernetesObjectApi, loadAllYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { GatehouseClient } from '../../src/sdk/client.js';
import { freePort } from './free-port.js';
import { BIN, startServeProcess, type RunningProcess } from './process.js';
import { spawn, type ChildProcess } from 'node:child_process';

export const ROOT_ID = 'operator-root';
export const ROOT_SECRET = 'operator-root-secret-0123456789abcdefghij';
const CRD_DIR = new URL('../../crds/', import.meta.url);

/**
 * Applies the generated CRDs. They are parsed with client-node's loadAllYaml: a plain YAML parse loses the CEL rules
 * (client-node 1.4 maps x-kubernetes-validations through its typed model). Waits until each is established.
 */
export async function applyCrds(kubeConfig: KubeConfig): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const file of readdirSync(CRD_DIR).filter((name) => name.endsWith('.yaml'))) {
    for (const object of loadAllYaml(readFileSync(new URL(file, CRD_DIR), 'utf8')) as KubernetesObject[]) {
      try {
        const existing = await api.read({ apiVersion: object.apiVersion!, kind: object.kind!, metadata: { name: object.metadata!.name! } });
        await api.replace({ ...object, metadata: { ...object.metadata, resourceVersion: existing.metadata?.resourceVersion } });
      } catch (error) {
        if ((error as { code?: number }).code !== 404) throw error;
        await api.create(object);
      }
      for (let i = 0; i < 100; i++) {
        const crd = await api.read<KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }>({
          apiVersion: object.apiVersion!,
          kind: object.kind!,
          metadata: { name: object.metadata!.name! },
        });
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

export interface ServerUnderTest {
  url: string;
  root: GatehouseClient;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server, deletes its database (a wipe), and starts it again empty but for the root client. */
  wipe(): Promise<void>;
  /** The stored form of a client's secret, read from the database file: how the server chose to hash it. */
  storedSecretHash(clientId: string): string | undefined;
}

/** A real `gatehouse serve` process on SQLite, with a fixed port so it can be stopped and started again. */
export async function startServer(): Promise<ServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-server-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: `sqlite://${join(dir, 'gatehouse.sqlite')}`,
    SYSTEM_SECRET: 'e2e-system-secret-0123456789',
    FORCE_ROOT_CLIENT_CREDENTIALS: `${ROOT_ID}:${ROOT_SECRET}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: url,
    LOG_LEVEL: 'warn',
  };
  let process: RunningProcess | undefined = await startServeProcess(env, url);
  const root = new GatehouseClient({ endpoint: url, clientId: ROOT_ID, clientSecret: ROOT_SECRET, scope: 'hydra.clients' });
  const server: ServerUnderTest = {
    url,
    root,
    async stop() {
      await process?.stop('SIGTERM');
      process = undefined;
    },
    async start() {
      process ??= await startServeProcess(env, url);
    },
    storedSecretHash(clientId) {
      const db = new SQLite(join(dir, 'gatehouse.sqlite'), { readonly: true });
      try {
        const row = db.prepare('select secret_hash from clients where id = ?').get(clientId) as { secret_hash: string | null } | undefined;
        return row?.secret_hash ?? undefined;
      } finally {
        db.close();
      }
    },
    async wipe() {
      await server.stop();
      for (const file of readdirSync(dir)) if (file.startsWith('gatehouse.sqlite')) rmSync(join(dir, file));
      await server.start();
    },
  };
  return server;
}

export interface OperatorProcess {
  child: ChildProcess;
  healthPort: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  metrics(): Promise<string>;
}

/** `gatehouse operator` as a real process against the given kubeconfig and server. */
export async function startOperatorProcess(options: {
  kubeconfigPath: string;
  serverUrl: string;
  namespaces?: string[];
  resync?: string;
  leaderElect?: boolean;
  identity?: string;
  leaseNamespace?: string;
  extraEnv?: Record<string, string>;
}): Promise<OperatorProcess> {
  const healthPort = await freePort();
  const child = spawn(globalThis.process.execPath, [BIN, 'operator'], {
    env: {
      ...globalThis.process.env,
      KUBECONFIG: options.kubeconfigPath,
      GATEHOUSE_SERVER_URL: options.serverUrl,
      GATEHOUSE_CLIENT_ID: ROOT_ID,
      GATEHOUSE_CLIENT_SECRET: ROOT_SECRET,
      WATCH_NAMESPACES: (options.namespaces ?? []).join(','),
      RESYNC_PERIOD: options.resync ?? '5m',
      LEADER_ELECT: String(options.leaderElect ?? false),
      POD_NAMESPACE: options.leaseNamespace ?? 'default',
      POD_NAME: options.identity ?? `operator-${healthPort}`,
      HEALTH_PORT: String(healthPort),
      HEALTH_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...options.extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gatehouse operator exited with ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) throw new Error(`gatehouse operator did not answer /healthz: ${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).ok) break;
    } catch {
      // not yet listening
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    healthPort,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async metrics() {
      return (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    },
  };
}

/** Sum of a counter's samples in Prometheus text, optionally only those whose labels contain `labelFilter`. */
export function counterSum(metricsText: string, name: string, labelFilter = ''): number {
  return metricsText
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(labelFilter))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
