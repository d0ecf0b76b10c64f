// What an e2e test file needs from the control plane started by the global setup.
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { loadKubeClient, type KubeClient } from '../../src/operator/runtime/kube-client.js';

export { freshNamespace } from './control-plane.js';

export function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(inject('kubeconfigPath'));
  return config;
}

/** The operator's own client (src/operator/runtime/kube-client.ts) on the same control plane. */
export function kubeClient(): Promise<KubeClient> {
  return loadKubeClient(inject('kubeconfigPath'));
}

export function kubeconfigPath(): string {
  return inject('kubeconfigPath');
}

export function envtestBinDir(): string {
  return inject('envtestBinDir');
}
