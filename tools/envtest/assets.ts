// Where the control-plane binaries live, shared by the build script, the test harness and `npm run cluster`.
// Locating never builds: a build takes minutes, far beyond any test hook timeout, so it belongs to
// `npm run envtest:setup` alone.
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const envtestDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(envtestDir, '..', '..');

export interface EnvtestVersions {
  kubernetes: string;
  etcd: string;
}

export interface Binaries {
  kubeApiserver: string;
  etcd: string;
  helm: string;
  kubectl: string;
  /** The kstatus rules of sigs.k8s.io/cli-utils as a command (tools/envtest/kstatus). */
  kstatus: string;
}

export interface Assets extends Binaries {
  /** Folder holding helm and kubectl (and, unless KUBEBUILDER_ASSETS is set, kube-apiserver and etcd). */
  binDir: string;
  /** Where kube-apiserver and etcd come from. */
  source: 'KUBEBUILDER_ASSETS' | 'cache';
  versions: EnvtestVersions;
}

export const HOW_TO_PROVIDE =
  'run `npm run envtest:setup` (needs a Go toolchain >= 1.26 on PATH) or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd';

export class MissingAssetsError extends Error {
  override name = 'MissingAssetsError';
}

// The wrapper go.mod files are the single source of truth for versions, so bumping a version there
// is enough to get a new cache folder.
export function requiredVersion(module: string, goModPath: string): string {
  const goMod = readFileSync(goModPath, 'utf8');
  const escaped = module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!match?.[1]) throw new Error(`${goModPath} does not require ${module}`);
  return match[1];
}

/** The kstatus binary's name carries its cli-utils version, so a bump in its go.mod builds a new one. */
export function kstatusBinaryName(): string {
  return `kstatus-${requiredVersion('sigs.k8s.io/cli-utils', join(envtestDir, 'kstatus', 'go.mod'))}`;
}

export function readVersions(): EnvtestVersions {
  return {
    kubernetes: requiredVersion('k8s.io/kubernetes', join(envtestDir, 'kube-apiserver', 'go.mod')),
    etcd: requiredVersion('go.etcd.io/etcd/server/v3', join(envtestDir, 'etcd', 'go.mod')),
  };
}

/** Outside the repository so that every clone on the machine shares one build. */
export function cacheRoot(): string {
  return process.env.GATEHOUSE_CACHE_DIR || join(homedir(), '.cache', 'gatehouse');
}

export function versionCacheDir(versions: EnvtestVersions = readVersions()): string {
  return join(cacheRoot(), 'envtest', `${versions.kubernetes}-etcd-${versions.etcd}`);
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function kubebuilderAssets(): string | undefined {
  return process.env.KUBEBUILDER_ASSETS || undefined;
}

/** Paths of all binaries; throws MissingAssetsError with a one-line remedy if any is absent. */
export function locateAssets(): Assets {
  const versions = readVersions();
  const binDir = versionCacheDir(versions);
  const serverDir = kubebuilderAssets() ?? binDir;
  const assets: Assets = {
    binDir,
    source: kubebuilderAssets() ? 'KUBEBUILDER_ASSETS' : 'cache',
    versions,
    kubeApiserver: join(serverDir, 'kube-apiserver'),
    etcd: join(serverDir, 'etcd'),
    helm: join(binDir, 'helm'),
    kubectl: join(binDir, 'kubectl'),
    kstatus: join(binDir, kstatusBinaryName()),
  };
  const missing = [assets.kubeApiserver, assets.etcd, assets.helm, assets.kubectl, assets.kstatus].filter((path) => !isExecutable(path));
  if (missing.length > 0) {
    const error = new MissingAssetsError(`missing ${missing.join(', ')}: ${HOW_TO_PROVIDE}`);
    // One line is the whole story; a stack trace into the test runner would only bury it.
    error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
  return assets;
}
