// What a test file of the `cluster` project needs from the real cluster its global setup started. kubeConfig(),
// kubeClient() and freshNamespace() of ./e2e.ts work here too.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { importImage as importIntoContainerd } from '../../tools/cluster/containerd.js';
import { freshNamespace } from './control-plane.js';

/** kubeconfig and the folder of helm and kubectl, e.g. for ClusterKit (./cluster-kit.ts). */
export function clusterAccess(): { kubeconfigPath: string; binDir: string } {
  return { kubeconfigPath: inject('kubeconfigPath'), binDir: inject('envtestBinDir') };
}

/** Imports an OCI image archive (e.g. from tools/cluster/oci-archive.ts) where the cluster's kubelet finds it. */
export function importImage(archive: string): Promise<void> {
  return importIntoContainerd(inject('clusterContainerdSocket'), archive);
}

/**
 * A new namespace whose `default` ServiceAccount exists: until kube-controller-manager has made it, the
 * ServiceAccount admission plugin refuses every pod in the namespace.
 */
export async function freshPodNamespace(kubeConfig: KubeConfig, prefix = 'cluster', timeoutMs = 30_000): Promise<string> {
  const namespace = await freshNamespace(kubeConfig, prefix);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace });
      return namespace;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`ServiceAccount ${namespace}/default not made within ${timeoutMs / 1000} s: ${String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
