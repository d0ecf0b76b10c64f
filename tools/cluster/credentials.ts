// Certificates and kubeconfigs of one cluster run: the CA, serving certificate, admin and service-account keys of the
// envtest control plane (test/support/pki.ts), plus one client identity per component, so that RBAC's bootstrap
// roles and the Node authorizer see the users they expect, and the kubelet's serving certificate.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_CLUSTER_IP_RANGE, writeKubeconfig } from '../../test/support/control-plane.js';
import { generatePki, issueClientCert, issueServingCert, type Pki } from '../../test/support/pki.js';

export const KUBECONFIG_NAME = 'gatehouse-cluster';

export interface ClusterCredentials {
  pki: Pki;
  /** Folder of the certificates; also holds ca.key. */
  dir: string;
  kubeletServing: { cert: string; key: string };
  kubeconfigs: { admin: string; kubelet: string; kubeProxy: string; scheduler: string; controllerManager: string };
}

/** The first address of the Service range: where pods reach the `kubernetes` Service. */
function kubernetesServiceIp(): string {
  const [network] = SERVICE_CLUSTER_IP_RANGE.split('/');
  const octets = (network ?? '').split('.');
  return [...octets.slice(0, 3), Number(octets[3]) + 1].join('.');
}

export function writeClusterCredentials(runDir: string, o: { server: string; nodeName: string; nodeAddress: string }): ClusterCredentials {
  const dir = join(runDir, 'pki');
  mkdirSync(dir);
  const pki = generatePki(dir, {
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: [o.nodeAddress, '127.0.0.1', kubernetesServiceIp()],
  });
  const kubeletServing = issueServingCert(dir, 'kubelet-serving', o.nodeName, { dnsNames: [o.nodeName], ipAddresses: [o.nodeAddress, '127.0.0.1'] });
  const identities = {
    kubelet: { commonName: `system:node:${o.nodeName}`, groups: ['system:nodes'] },
    kubeProxy: { commonName: 'system:kube-proxy' },
    scheduler: { commonName: 'system:kube-scheduler' },
    controllerManager: { commonName: 'system:kube-controller-manager' },
  };
  const kubeconfig = (name: string, credentials: { cert: string; key: string }): string => {
    const path = join(runDir, `${name}.kubeconfig`);
    writeKubeconfig(path, o.server, { caCert: pki.caCert, ...credentials }, KUBECONFIG_NAME);
    return path;
  };
  const kubeconfigs = {
    admin: kubeconfig('admin', { cert: pki.adminCert, key: pki.adminKey }),
    ...(Object.fromEntries(Object.entries(identities).map(([name, identity]) => [name, kubeconfig(name, issueClientCert(dir, name, identity))])) as Record<
      keyof typeof identities,
      string
    >),
  };
  return { pki, dir, kubeletServing, kubeconfigs };
}
