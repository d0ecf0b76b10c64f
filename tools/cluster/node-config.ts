// The node's configuration files: kubelet, kube-proxy, the CNI network and the resolv.conf pods inherit. Every path
// and address is the run's own, so nothing is read from or written to the host's /etc, /var/lib or /var/log.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export const POD_CIDR = '10.244.0.0/24';
export const CLUSTER_DOMAIN = 'cluster.local';
/** In SERVICE_CLUSTER_IP_RANGE (test/support/control-plane.ts): .1 is the `kubernetes` Service, .10 CoreDNS. */
export const DNS_SERVICE_IP = '10.0.0.10';

export interface KubeletConfigOptions {
  path: string;
  nodeAddress: string;
  cgroupRoot: string;
  containerdSocket: string;
  caCert: string;
  servingCert: string;
  servingKey: string;
  resolvConf: string;
  podLogsDir: string;
}

export function writeKubeletConfig(o: KubeletConfigOptions): void {
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: o.nodeAddress,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    tlsCertFile: o.servingCert,
    tlsPrivateKeyFile: o.servingKey,
    // kube-apiserver's requests (logs, exec) carry the admin client certificate.
    authentication: { x509: { clientCAFile: o.caCert }, webhook: { enabled: false }, anonymous: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${o.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: o.cgroupRoot,
    // These machines are cgroup v1, which 1.34 refuses unless told otherwise; and they may have swap.
    failCgroupV1: false,
    failSwapOn: false,
    // Root here lacks CAP_SYS_RESOURCE, so lowering the kubelet's own oom_score_adj would only log an error.
    oomScoreAdj: 0,
    clusterDNS: [DNS_SERVICE_IP],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf: o.resolvConf,
    podLogsDir: o.podLogsDir,
    hairpinMode: 'hairpin-veth',
    // A test machine's disk and memory are shared with other work: evict nothing, collect no images (they cannot be
    // pulled back: there is no registry).
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // Status changes show sooner: tests wait on Ready conditions.
    nodeStatusUpdateFrequency: '2s',
    syncFrequency: '10s',
    shutdownGracePeriod: '0s',
  };
  writeFileSync(o.path, stringify(config));
}

export function writeKubeProxyConfig(o: { path: string; kubeconfig: string; nodeName: string }): void {
  const zero = '0s';
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: o.kubeconfig },
    hostnameOverride: o.nodeName,
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    oomScoreAdj: 0,
    // NodePorts at the node's address, where the host reaches them.
    nodePortAddresses: ['primary'],
    // 0 everywhere: leave the conntrack sysctls alone (several are global, not per network namespace).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: zero, tcpCloseWaitTimeout: zero, udpTimeout: zero, udpStreamTimeout: zero },
    iptables: { minSyncPeriod: '0s', syncPeriod: '30s' },
  };
  writeFileSync(o.path, stringify(config));
}

/** A bridge network for the pods, with host-port support; IP allocations kept in the run folder. */
export function writeCniConfig(o: { path: string; networkName: string; ipamDataDir: string }): void {
  const conflist = {
    cniVersion: '1.0.0',
    name: o.networkName,
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: o.ipamDataDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  writeFileSync(o.path, JSON.stringify(conflist, null, 2));
}

/** The DNS configuration pods inherit besides cluster DNS: none, as no resolver outside the namespace is reachable. */
export function writeResolvConf(path: string): void {
  writeFileSync(path, '# The test cluster has no upstream DNS; pods resolve cluster names through CoreDNS only.\n');
}
