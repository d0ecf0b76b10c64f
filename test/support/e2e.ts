// What an e2e test file needs from the control plane started by the global setup.
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

export { freshNamespace } from './control-plane.js';

export function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(inject('kubeconfigPath'));
  return config;
}

export function kubeconfigPath(): string {
  return inject('kubeconfigPath');
}

export function envtestBinDir(): string {
  return inject('envtestBinDir');
}
