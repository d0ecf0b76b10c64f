// The cluster's processes, each started inside the run's network namespace with its log in the run folder, and the
// flags that make them one cluster. Ports are the components' defaults: the namespace is the run's own.
import { join } from 'node:path';
import { commonApiServerArgs, etcdArgs, SERVICE_CLUSTER_IP_RANGE } from '../../test/support/control-plane.js';
import { startProcess, type ManagedProcess } from '../../test/support/processes.js';
import type { ClusterCredentials } from './credentials.js';
import { nsenterArgs, type NetworkNamespace } from './netns.js';

export const API_SERVER_PORT = 6443;
const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;

export interface Node {
  runDir: string;
  ns: NetworkNamespace;
  name: string;
}

export function startInNamespace(node: Node, name: string, command: string, args: readonly string[]): ManagedProcess {
  return startProcess(name, 'nsenter', nsenterArgs(node.ns, command, args), join(node.runDir, 'logs', `${name}.log`));
}

export function etcdUrl(node: Node): string {
  return `http://${node.ns.insideAddress}:${ETCD_CLIENT_PORT}`;
}

export function startEtcd(node: Node, etcd: string): ManagedProcess {
  const args = etcdArgs({ dataDir: join(node.runDir, 'etcd'), clientUrl: etcdUrl(node), peerUrl: `http://127.0.0.1:${ETCD_PEER_PORT}` });
  return startInNamespace(node, 'etcd', etcd, args);
}

export function startContainerd(node: Node, config: string): ManagedProcess {
  return startInNamespace(node, 'containerd', 'containerd', ['--config', config]);
}

export function startApiServer(node: Node, k8s: string, credentials: ClusterCredentials): ManagedProcess {
  const { pki } = credentials;
  const args = [
    ...commonApiServerArgs({
      // Bound to every address of the namespace, advertised at the node's: the `kubernetes` Service's endpoint must
      // be an address pods can reach.
      bindAddress: '0.0.0.0',
      advertiseAddress: node.ns.insideAddress,
      port: API_SERVER_PORT,
      etcdUrl: etcdUrl(node),
      pki,
      certDir: join(node.runDir, 'apiserver'),
    }),
    '--authorization-mode=Node,RBAC',
    // The ServiceAccount plugin stays on (the default): the controller-manager creates the accounts it demands.
    '--enable-admission-plugins=NodeRestriction',
    // The node's name does not resolve anywhere; `kubectl logs` and `exec` reach the kubelet at its address.
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-client-certificate=${pki.adminCert}`,
    `--kubelet-client-key=${pki.adminKey}`,
    `--kubelet-certificate-authority=${pki.caCert}`,
  ];
  return startInNamespace(node, 'kube-apiserver', k8s, ['kube-apiserver', ...args]);
}

export function startControllerManager(node: Node, k8s: string, credentials: ClusterCredentials): ManagedProcess {
  // No --authentication/authorization-kubeconfig: nothing calls its port but for /healthz, and without a front proxy
  // the lookup of the request-header CA only fills the log with errors.
  return startInNamespace(node, 'kube-controller-manager', k8s, [
    'kube-controller-manager',
    `--kubeconfig=${credentials.kubeconfigs.controllerManager}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    // Published as the kube-root-ca.crt ConfigMap in every namespace, which every pod's token volume includes.
    `--root-ca-file=${credentials.pki.caCert}`,
    `--service-account-private-key-file=${credentials.pki.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
  ]);
}

export function startScheduler(node: Node, k8s: string, credentials: ClusterCredentials): ManagedProcess {
  return startInNamespace(node, 'kube-scheduler', k8s, [
    'kube-scheduler',
    `--kubeconfig=${credentials.kubeconfigs.scheduler}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
  ]);
}

export function startKubelet(node: Node, k8s: string, o: { config: string; kubeconfig: string }): ManagedProcess {
  const rootDir = join(node.runDir, 'kubelet');
  return startInNamespace(node, 'kubelet', k8s, [
    'kubelet',
    `--config=${o.config}`,
    `--kubeconfig=${o.kubeconfig}`,
    `--hostname-override=${node.name}`,
    `--node-ip=${node.ns.insideAddress}`,
    `--root-dir=${rootDir}`,
    `--cert-dir=${join(rootDir, 'pki')}`,
  ]);
}

export function startKubeProxy(node: Node, k8s: string, config: string): ManagedProcess {
  return startInNamespace(node, 'kube-proxy', k8s, ['kube-proxy', `--config=${config}`]);
}
