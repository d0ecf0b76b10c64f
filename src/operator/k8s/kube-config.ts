import { KubeConfig } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';

/**
 * A KubeConfig whose API calls share one keep-alive dispatcher. client-node 2.0 (like the https.Agent of 1.4)
 * builds a new undici Agent for every request, so every call paid a TLS handshake with client-certificate
 * authentication on both ends and left native TLS state behind for the garbage collector; in `npm run bench` that
 * was most of the operator's CPU per resource and a large part of its memory. test/unit/kube-config.test.ts fails
 * when an upgrade changes the method this relies on, and tells when upstream starts sharing on its own.
 */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return shareDispatcher(kubeConfig);
}

type DispatcherFactory = (cluster: unknown, options: Record<string, unknown>) => Dispatcher | undefined;

export function shareDispatcher(kubeConfig: KubeConfig): KubeConfig {
  // createDispatcher is an ordinary public method at run time; it is the one place API-call dispatchers are made.
  const target = kubeConfig as unknown as { createDispatcher?: DispatcherFactory };
  if (typeof target.createDispatcher !== 'function') {
    throw new Error('@kubernetes/client-node no longer has KubeConfig.createDispatcher; update src/operator/k8s/kube-config.ts');
  }
  const create = target.createDispatcher.bind(kubeConfig);
  const dispatchers = new Map<string, Dispatcher | undefined>();
  target.createDispatcher = (cluster, options) => {
    // The options carry the cluster's CA and the client certificate: one dispatcher per distinct set of them, so a
    // rotated certificate file gets a new one.
    const key = JSON.stringify([cluster, options]);
    if (!dispatchers.has(key)) dispatchers.set(key, create(cluster, options));
    return dispatchers.get(key);
  };
  return kubeConfig;
}
