// Where the real cluster's pieces live: the k8s multi-call binary and CoreDNS built from the wrapper modules of this
// folder, the pause and CoreDNS image archives, all in a version-keyed cache folder beside envtest's; etcd, helm and
// kubectl come from the envtest cache. Locating never builds: that is `npm run cluster:setup`'s job.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, isExecutable, locateAssets, MissingAssetsError, requiredVersion, type Assets } from '../envtest/assets.js';

export const clusterToolsDir = dirname(fileURLToPath(import.meta.url));

export const HOW_TO_SET_UP = 'run `npm run cluster:setup` (as root, with a Go toolchain >= 1.26 on PATH)';

export interface ClusterVersions {
  kubernetes: string;
  coredns: string;
}

/** The wrapper go.mod files are the source of truth, so a version bump there builds into a new cache folder. */
export function readClusterVersions(): ClusterVersions {
  return {
    kubernetes: requiredVersion('k8s.io/kubernetes', join(clusterToolsDir, 'k8s', 'go.mod')),
    coredns: requiredVersion('github.com/coredns/coredns', join(clusterToolsDir, 'coredns', 'go.mod')),
  };
}

export function clusterCacheDir(versions: ClusterVersions = readClusterVersions()): string {
  return join(cacheRoot(), 'cluster', `${versions.kubernetes}-coredns-${versions.coredns}`);
}

/** Image references: fully qualified, and never tagged `latest`, so the kubelet uses them without pulling. */
export function imageReferences(versions: ClusterVersions = readClusterVersions()): { pause: string; coredns: string } {
  return { pause: 'gatehouse.local/pause:1', coredns: `gatehouse.local/coredns:${versions.coredns}` };
}

export interface ClusterAssets {
  versions: ClusterVersions;
  cacheDir: string;
  /** kubelet, kube-proxy, kube-scheduler, kube-controller-manager and kube-apiserver, chosen by the first argument. */
  k8s: string;
  coredns: string;
  /** OCI archives to import into containerd before any pod starts. */
  images: { pause: string; coredns: string };
  references: { pause: string; coredns: string };
  /** etcd, helm and kubectl of the envtest cache. */
  envtest: Assets;
}

export function clusterPaths(versions: ClusterVersions = readClusterVersions()): Omit<ClusterAssets, 'envtest'> {
  const cacheDir = clusterCacheDir(versions);
  return {
    versions,
    cacheDir,
    k8s: join(cacheDir, 'k8s'),
    coredns: join(cacheDir, 'coredns'),
    images: { pause: join(cacheDir, 'pause.oci.tar'), coredns: join(cacheDir, 'coredns.oci.tar') },
    references: imageReferences(versions),
  };
}

/** All paths; throws MissingAssetsError naming every absent piece and the one command that provides them. */
export function locateClusterAssets(): ClusterAssets {
  const paths = clusterPaths();
  let envtest: Assets;
  try {
    envtest = locateAssets();
  } catch (error) {
    if (error instanceof MissingAssetsError) throw missing([error.message.replace(/:.*$/, '')]);
    throw error;
  }
  const absent = [...[paths.k8s, paths.coredns].filter((path) => !isExecutable(path)), ...Object.values(paths.images).filter((path) => !existsSync(path))];
  if (absent.length > 0) throw missing([`missing ${absent.join(', ')}`]);
  return { ...paths, envtest };
}

function missing(what: string[]): MissingAssetsError {
  const error = new MissingAssetsError(`${what.join('; ')}: ${HOW_TO_SET_UP}`);
  error.stack = `${error.name}: ${error.message}`;
  return error;
}
