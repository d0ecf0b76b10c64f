// A real, throw-away Kubernetes control plane (etcd + kube-apiserver) on loopback ports, set up the
// way controller-runtime's envtest does it, for e2e tests and `npm run cluster`.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { locateAssets, type Binaries } from '../../tools/envtest/assets.js';
import { generatePki, type Pki } from './pki.js';
import { freePorts } from './ports.js';
import { httpStatus, httpsStatus, ProcessExitedError, readTlsClient, waitUntilReady, type TlsClient } from './probes.js';
import { onProcessExit, startProcess, type ManagedProcess } from './processes.js';

const HOST = '127.0.0.1';
const WORKDIR_PREFIX = 'gatehouse-cp-';
const OWNER_FILE = 'owner.pid';
const READY_TIMEOUT_MS = 90_000;
// A port taken between our probe and the server's bind shows up as an early exit; retry on new ports.
const START_ATTEMPTS = 3;
const STOP_GRACE_MS = 2_000;

export interface ControlPlaneTimings {
  etcdMs: number;
  apiServerMs: number;
  totalMs: number;
}

export interface ControlPlane {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Folder with helm and kubectl, for tests that shell out to them. */
  binDir: string;
  binaries: Binaries;
  workDir: string;
  timings: ControlPlaneTimings;
  /**
   * Stops kube-apiserver, waits downtimeMs, and starts it again on the same port with the same etcd,
   * so clients see a real outage and then the same data. The stop is SIGTERM, then SIGKILL after
   * graceMs: an open watch holds kube-apiserver's graceful shutdown for up to a minute, and 0
   * simulates a crash.
   */
  restartApiServer(options?: { downtimeMs?: number; graceMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// A run killed outright cannot remove its folder; its watchdogs already stopped its servers.
function removeAbandonedWorkDirs(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(WORKDIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue;
    }
    if (owner > 0 && !isAlive(owner)) rmSync(dir, { recursive: true, force: true });
  }
}

export interface KubeconfigCredentials {
  caCert: string;
  /** Client certificate and key files; the certificate's CN and O are the user and groups the API server sees. */
  cert: string;
  key: string;
}

/** A self-contained kubeconfig (certificates inlined); `name` names its cluster, user and context. */
export function writeKubeconfig(path: string, server: string, { caCert, cert, key }: KubeconfigCredentials, name = 'envtest'): void {
  const base64 = (file: string): string => readFileSync(file).toString('base64');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': base64(caCert) } }],
    users: [
      {
        name: `${name}-admin`,
        user: { 'client-certificate-data': base64(cert), 'client-key-data': base64(key) },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
  };
  writeFileSync(path, stringify(kubeconfig), { mode: 0o600 });
}

/** etcd flags for a one-member, disposable cluster serving plain HTTP at clientUrl. */
export function etcdArgs(o: { dataDir: string; clientUrl: string; peerUrl: string }): string[] {
  return [
    '--name=envtest',
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${o.clientUrl}`,
    `--advertise-client-urls=${o.clientUrl}`,
    `--listen-peer-urls=${o.peerUrl}`,
    `--initial-advertise-peer-urls=${o.peerUrl}`,
    `--initial-cluster=envtest=${o.peerUrl}`,
    // Test data is disposable; fsync on every write makes the API server several times slower.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

async function startEtcd(binary: string, workDir: string): Promise<{ proc: ManagedProcess; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
    const url = `http://${HOST}:${clientPort}`;
    const peerUrl = `http://${HOST}:${peerPort}`;
    const dataDir = join(workDir, 'etcd');
    rmSync(dataDir, { recursive: true, force: true });
    const proc = startProcess('etcd', binary, etcdArgs({ dataDir, clientUrl: url, peerUrl }), join(workDir, 'etcd.log'));
    try {
      await waitUntilReady(proc, async () => (await httpStatus(`${url}/health`)) === 200, READY_TIMEOUT_MS);
      return { proc, url };
    } catch (error) {
      await proc.stop();
      if (!(error instanceof ProcessExitedError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';

/**
 * The kube-apiserver flags every control plane of ours shares: etcd, certificates, service accounts, Service range.
 * Authorization and admission differ between the envtest control plane and the real cluster, so callers add them.
 */
export function commonApiServerArgs(o: { bindAddress: string; advertiseAddress: string; port: number; etcdUrl: string; pki: Pki; certDir: string }): string[] {
  return [
    `--etcd-servers=${o.etcdUrl}`,
    `--bind-address=${o.bindAddress}`,
    `--advertise-address=${o.advertiseAddress}`,
    `--secure-port=${o.port}`,
    `--cert-dir=${o.certDir}`,
    `--tls-cert-file=${o.pki.servingCert}`,
    `--tls-private-key-file=${o.pki.servingKey}`,
    `--client-ca-file=${o.pki.caCert}`,
    `--service-account-issuer=https://${o.advertiseAddress}:${o.port}`,
    `--service-account-key-file=${o.pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${o.pki.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
  ];
}

function apiServerArgs(o: { port: number; etcdUrl: string; pki: Pki; certDir: string }): string[] {
  return [
    ...commonApiServerArgs({ ...o, bindAddress: HOST, advertiseAddress: HOST }),
    '--authorization-mode=RBAC',
    // No controller-manager runs to create the default ServiceAccount this plugin would demand.
    '--disable-admission-plugins=ServiceAccount',
  ];
}

async function launchApiServer(binary: string, workDir: string, args: readonly string[], server: string, tls: TlsClient): Promise<ManagedProcess> {
  const proc = startProcess('kube-apiserver', binary, args, join(workDir, 'kube-apiserver.log'));
  try {
    await waitUntilReady(proc, async () => (await httpsStatus(`${server}/readyz`, tls)) === 200, READY_TIMEOUT_MS);
    return proc;
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

async function startApiServer(
  binary: string,
  workDir: string,
  etcdUrl: string,
  pki: Pki,
  tls: TlsClient,
): Promise<{ proc: ManagedProcess; server: string; args: string[] }> {
  for (let attempt = 1; ; attempt++) {
    const [port] = (await freePorts(1)) as [number];
    const server = `https://${HOST}:${port}`;
    const args = apiServerArgs({ port, etcdUrl, pki, certDir: join(workDir, 'apiserver') });
    try {
      return { proc: await launchApiServer(binary, workDir, args, server, tls), server, args };
    } catch (error) {
      if (!(error instanceof ProcessExitedError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

export async function startControlPlane(): Promise<ControlPlane> {
  const started = performance.now();
  const binaries = locateAssets();
  removeAbandonedWorkDirs();
  const workDir = mkdtempSync(join(tmpdir(), WORKDIR_PREFIX));
  writeFileSync(join(workDir, OWNER_FILE), String(process.pid));
  const unregisterDirCleanup = onProcessExit(() => rmSync(workDir, { recursive: true, force: true }));

  let etcd: ManagedProcess | undefined;
  let apiServer: ManagedProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // The data is disposable, so there is nothing to wait for beyond a brief chance to exit cleanly.
      await apiServer?.stop(STOP_GRACE_MS);
      await etcd?.stop(STOP_GRACE_MS);
      rmSync(workDir, { recursive: true, force: true });
      unregisterDirCleanup();
    })());

  try {
    const pkiDir = join(workDir, 'pki');
    mkdirSync(pkiDir);
    const pki = generatePki(pkiDir, {
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: [HOST, '10.0.0.1'],
    });
    const tls = readTlsClient({ ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey });

    const etcdStarted = await startEtcd(binaries.etcd, workDir);
    etcd = etcdStarted.proc;
    const etcdMs = performance.now() - started;

    const { proc, server, args } = await startApiServer(binaries.kubeApiserver, workDir, etcdStarted.url, pki, tls);
    apiServer = proc;
    const totalMs = performance.now() - started;

    const kubeconfigPath = join(workDir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, server, { caCert: pki.caCert, cert: pki.adminCert, key: pki.adminKey });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);

    return {
      kubeconfigPath,
      kubeConfig,
      server,
      binDir: binaries.binDir,
      binaries,
      workDir,
      timings: { etcdMs, apiServerMs: totalMs - etcdMs, totalMs },
      async restartApiServer({ downtimeMs = 0, graceMs = 2_000 } = {}) {
        await apiServer?.stop(graceMs);
        apiServer = undefined;
        await new Promise((resolve) => setTimeout(resolve, downtimeMs));
        apiServer = await launchApiServer(binaries.kubeApiserver, workDir, args, server, tls);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A new namespace with a generated name, so each test starts from an empty one. */
export async function freshNamespace(kubeConfig: KubeConfig, prefix = 'e2e'): Promise<string> {
  const namespace = await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { generateName: `${prefix}-` } } });
  const name = namespace.metadata?.name;
  if (!name) throw new Error('the API server returned a namespace without a name');
  return name;
}
