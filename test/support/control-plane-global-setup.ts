// One control plane for the whole e2e run: starting one takes seconds, a fresh namespace per test
// (freshNamespace) is enough isolation.
import type { TestProject } from 'vitest/node';
import { startControlPlane } from './control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfigPath: string;
    /** Folder holding helm and kubectl. */
    envtestBinDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const controlPlane = await startControlPlane();
  const { etcdMs, apiServerMs } = controlPlane.timings;
  console.log(`control plane ready at ${controlPlane.server} (etcd ${(etcdMs / 1000).toFixed(1)} s, kube-apiserver ${(apiServerMs / 1000).toFixed(1)} s)`);
  project.provide('kubeconfigPath', controlPlane.kubeconfigPath);
  project.provide('envtestBinDir', controlPlane.binDir);
  return () => controlPlane.stop();
}
