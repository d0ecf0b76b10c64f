// A real one-node Kubernetes cluster whose pods run: containerd + runc, kubelet, kube-proxy, kube-scheduler,
// kube-controller-manager, kube-apiserver, etcd and CoreDNS, all inside a network namespace of the run, for the
// `cluster` test project and `npm run cluster -- --real`. Needs root; `npm run cluster:setup` provides the pieces.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { httpStatus, httpsStatus, readTlsClient, waitUntilReady } from '../../test/support/probes.js';
import { onProcessExit, type ManagedProcess } from '../../test/support/processes.js';
import { HOW_TO_SET_UP, locateClusterAssets } from './assets.js';
import {
  startApiServer,
  startContainerd,
  startControllerManager,
  startEtcd,
  startKubelet,
  startKubeProxy,
  startScheduler,
  etcdUrl,
  API_SERVER_PORT,
  type Node,
} from './components.js';
import { containerdLayout, deleteAllTasks, importImage, isContainerdServing, writeContainerdConfig } from './containerd.js';
import { corednsManifest } from './coredns-manifest.js';
import { writeClusterCredentials } from './credentials.js';
import { createCgroupRoot, processesInCgroup } from './cgroups.js';
import { describeNode, describePods } from './diagnostics.js';
import { kubectl } from './kubectl.js';
import { createNetworkNamespace } from './netns.js';
import { writeCniConfig, writeKubeletConfig, writeKubeProxyConfig, writeResolvConf } from './node-config.js';
import { describeMissing, isRoot, missingPrerequisites } from './prerequisites.js';
import { killAndWait, removeAbandonedRuns, removeRunResources, writeRunState, RUN_DIR_PREFIX, type RunState } from './teardown.js';
import { waitFor } from './wait.js';

const PROCESS_READY_MS = 60_000;
const NODE_READY_MS = 60_000;
const DNS_READY_MS = 90_000;
const STOP_GRACE_MS = 2_000;

/** Milliseconds from the call of startRealCluster until each piece was ready. */
export interface RealClusterTimings {
  containerdMs: number;
  etcdMs: number;
  apiServerMs: number;
  imagesMs: number;
  nodeReadyMs: number;
  dnsReadyMs: number;
  totalMs: number;
}

export interface RealCluster {
  /** Admin (system:masters) kubeconfig. */
  kubeconfigPath: string;
  /** https URL of kube-apiserver at the node's address inside the namespace, reachable from the host. */
  server: string;
  /** Folder holding helm and kubectl. */
  binDir: string;
  nodeName: string;
  /** containerd's socket, for `ctr --address <socket> -n k8s.io …`. */
  containerdSocket: string;
  /** The run folder: component logs are in logs/. */
  runDir: string;
  /** Imports an OCI image archive (e.g. from packOciArchive) into the namespace the kubelet uses. */
  importImage(archive: string): Promise<void>;
  timings: RealClusterTimings;
  /** Stops everything and removes every trace on the host; throws listing anything it could not remove. */
  stop(): Promise<void>;
}

export interface RealClusterOptions {
  /** OCI image archives to import into containerd (namespace k8s.io) before the cluster is reported ready. */
  images?: string[];
  /** Progress lines; silent by default. */
  log?: (line: string) => void;
}

type Components = Partial<
  Record<'containerd' | 'etcd' | 'kubeApiserver' | 'kubeControllerManager' | 'kubeScheduler' | 'kubelet' | 'kubeProxy', ManagedProcess>
>;

function checkMachine(images: readonly string[]): void {
  const problems = [
    ...(isRoot() ? [] : ['a real cluster needs root (network namespaces, mounts, cgroups)']),
    ...describeMissing(missingPrerequisites()),
    ...images.filter((image) => !existsSync(image)).map((image) => `image archive ${image} does not exist`),
  ];
  if (problems.length > 0) {
    const error = new Error(`cannot start a real cluster:\n${problems.map((line) => `  ${line}`).join('\n')}\n${HOW_TO_SET_UP}`);
    error.stack = error.message;
    throw error;
  }
}

export async function startRealCluster(options: RealClusterOptions = {}): Promise<RealCluster> {
  const started = performance.now();
  const since = (): number => Math.round(performance.now() - started);
  const log = options.log ?? (() => {});
  const extraImages = options.images ?? [];
  checkMachine(extraImages);
  const assets = locateClusterAssets();
  removeAbandonedRuns(log);

  const runDir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  mkdirSync(join(runDir, 'logs'));
  const containerd = containerdLayout(runDir);
  const ns = createNetworkNamespace();
  const state: RunState = {
    runDir,
    ownerPid: process.pid,
    netns: ns.name,
    cgroupRoot: basename(runDir),
    containerdSocket: containerd.socket,
  };
  writeRunState(state);
  const components: Components = {};
  // However the process ends, nothing stays behind: groups killed first, then what they leave.
  const unregisterExitCleanup = onProcessExit(() => {
    killAndWait(Object.values(components).flatMap((proc) => (proc.isRunning() ? [proc.pid] : [])));
    removeRunResources(state);
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // The recipe's order: the kubelet first (it would restart what is killed), then the containers, then the rest.
      await components.kubelet?.stop(5_000);
      if (components.containerd?.isRunning()) await deleteAllTasks(containerd.socket, 30_000).catch((error: unknown) => log(String(error)));
      killAndWait(processesInCgroup(state.cgroupRoot));
      await Promise.all(Object.values(components).map((proc) => proc.stop(STOP_GRACE_MS)));
      const left = removeRunResources(state);
      unregisterExitCleanup();
      if (left.length > 0) throw new Error(`the cluster run left behind:\n${left.map((line) => `  ${line}`).join('\n')}`);
    })());

  try {
    createCgroupRoot(state.cgroupRoot);
    const node: Node = { runDir, ns, name: ns.name };
    const server = `https://${ns.insideAddress}:${API_SERVER_PORT}`;
    const credentials = writeClusterCredentials(runDir, { server, nodeName: node.name, nodeAddress: ns.insideAddress });
    const { pki, kubeconfigs } = credentials;
    const tls = readTlsClient({ ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey });

    const cniConfDir = join(runDir, 'cni', 'net.d');
    mkdirSync(cniConfDir, { recursive: true });
    writeCniConfig({ path: join(cniConfDir, '10-gatehouse.conflist'), networkName: basename(runDir), ipamDataDir: join(runDir, 'cni', 'ipam') });
    mkdirSync(containerd.dir);
    writeContainerdConfig(containerd, { sandboxImage: assets.references.pause, cniConfDir });
    const resolvConf = join(runDir, 'resolv.conf');
    writeResolvConf(resolvConf);
    const kubeletConfig = join(runDir, 'kubelet.yaml');
    writeKubeletConfig({
      path: kubeletConfig,
      nodeAddress: ns.insideAddress,
      cgroupRoot: `/${state.cgroupRoot}`,
      containerdSocket: containerd.socket,
      caCert: pki.caCert,
      servingCert: credentials.kubeletServing.cert,
      servingKey: credentials.kubeletServing.key,
      resolvConf,
      podLogsDir: join(runDir, 'pod-logs'),
    });
    const kubeProxyConfig = join(runDir, 'kube-proxy.yaml');
    writeKubeProxyConfig({ path: kubeProxyConfig, kubeconfig: kubeconfigs.kubeProxy, nodeName: node.name });

    const timings: RealClusterTimings = { containerdMs: 0, etcdMs: 0, apiServerMs: 0, imagesMs: 0, nodeReadyMs: 0, dnsReadyMs: 0, totalMs: 0 };
    components.containerd = startContainerd(node, containerd.config);
    components.etcd = startEtcd(node, assets.envtest.etcd);
    const containerdReady = waitUntilReady(components.containerd, () => isContainerdServing(containerd.socket), PROCESS_READY_MS).then(() => {
      timings.containerdMs = since();
      log(`containerd ready (${timings.containerdMs} ms)`);
    });
    const imagesImported = containerdReady.then(async () => {
      await Promise.all([assets.images.pause, assets.images.coredns, ...extraImages].map((archive) => importImage(containerd.socket, archive)));
      timings.imagesMs = since();
      log(`${2 + extraImages.length} images imported (${timings.imagesMs} ms)`);
    });
    // Awaited later; marked handled now so that a failure meanwhile is not an unhandled rejection.
    imagesImported.catch(() => {});

    await waitUntilReady(components.etcd, async () => (await httpStatus(`${etcdUrl(node)}/health`)) === 200, PROCESS_READY_MS);
    timings.etcdMs = since();
    components.kubeApiserver = startApiServer(node, assets.k8s, credentials);
    await waitUntilReady(components.kubeApiserver, async () => (await httpsStatus(`${server}/readyz`, tls)) === 200, PROCESS_READY_MS);
    timings.apiServerMs = since();
    log(`kube-apiserver ready at ${server} (${timings.apiServerMs} ms)`);

    components.kubeControllerManager = startControllerManager(node, assets.k8s, credentials);
    components.kubeScheduler = startScheduler(node, assets.k8s, credentials);
    components.kubeProxy = startKubeProxy(node, assets.k8s, kubeProxyConfig);
    await containerdReady;
    components.kubelet = startKubelet(node, assets.k8s, { config: kubeletConfig, kubeconfig: kubeconfigs.kubelet });
    await imagesImported;

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigs.admin);
    const kubectlOptions = { binDir: assets.envtest.binDir, kubeconfig: kubeconfigs.admin };
    const manifest = join(runDir, 'coredns.yaml');
    writeFileSync(manifest, corednsManifest(assets.references.coredns));
    await kubectl(kubectlOptions, ['apply', '-f', manifest]);

    const core = kubeConfig.makeApiClient(CoreV1Api);
    const all = Object.values(components);
    await waitFor({
      what: `node ${node.name} Ready`,
      timeoutMs: NODE_READY_MS,
      components: [components.containerd, components.kubelet, components.kubeApiserver],
      check: async () => (await core.readNode({ name: node.name })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      diagnose: () => describeNode(kubeConfig, node.name),
    });
    timings.nodeReadyMs = since();
    log(`node ${node.name} Ready (${timings.nodeReadyMs} ms)`);

    const apps = kubeConfig.makeApiClient(AppsV1Api);
    await waitFor({
      what: 'CoreDNS (deployment kube-system/coredns) available',
      timeoutMs: DNS_READY_MS,
      components: all,
      check: async () => ((await apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' })).status?.availableReplicas ?? 0) > 0,
      diagnose: () => describePods(kubeConfig, 'kube-system'),
    });
    await waitFor({
      what: 'ServiceAccount default/default (made by kube-controller-manager)',
      timeoutMs: PROCESS_READY_MS,
      components: [components.kubeControllerManager],
      check: async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })) !== undefined,
    });
    timings.dnsReadyMs = since();
    timings.totalMs = since();
    log(`CoreDNS ready; cluster up in ${timings.totalMs} ms`);

    return {
      kubeconfigPath: kubeconfigs.admin,
      server,
      binDir: assets.envtest.binDir,
      nodeName: node.name,
      containerdSocket: containerd.socket,
      runDir,
      importImage: (archive) => importImage(containerd.socket, archive),
      timings,
      stop,
    };
  } catch (error) {
    const stopError = await stop().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    if (stopError && error instanceof Error) error.message += `\nand then stopping failed: ${String(stopError)}`;
    throw error;
  }
}
