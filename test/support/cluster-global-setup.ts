// One real one-node cluster (tools/cluster/cluster.ts) for the whole `cluster` project: it takes seconds to start,
// and a namespace per test file is isolation enough. Image archives listed in GATEHOUSE_CLUSTER_IMAGES (colon
// separated) are imported before any test runs; tests import more with importImage from ./cluster.ts.
import type { TestProject } from 'vitest/node';
import { startRealCluster } from '../../tools/cluster/cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    // The same keys as the e2e project's, so that the helpers of ./e2e.ts work here too.
    kubeconfigPath: string;
    envtestBinDir: string;
    clusterServer: string;
    clusterNodeName: string;
    /** containerd's socket: `ctr --address <it> -n k8s.io images import …`. */
    clusterContainerdSocket: string;
    /** The run folder; component logs are in its logs/ folder. */
    clusterRunDir: string;
  }
}

function imagesFromEnvironment(value = process.env.GATEHOUSE_CLUSTER_IMAGES): string[] {
  return (value ?? '').split(':').filter(Boolean);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRealCluster({ images: imagesFromEnvironment(), log: (line) => console.log(`cluster: ${line}`) });
  project.provide('kubeconfigPath', cluster.kubeconfigPath);
  project.provide('envtestBinDir', cluster.binDir);
  project.provide('clusterServer', cluster.server);
  project.provide('clusterNodeName', cluster.nodeName);
  project.provide('clusterContainerdSocket', cluster.containerdSocket);
  project.provide('clusterRunDir', cluster.runDir);
  // stop() throws, listing them, if processes, mounts, the namespace, cgroups or files were left behind.
  return () => cluster.stop();
}
