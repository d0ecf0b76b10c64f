// `npm run cluster:setup` (after `npm run envtest:setup`, which provides etcd, helm and kubectl): installs the Debian
// packages a real cluster needs, builds the k8s multi-call binary and CoreDNS into the version-keyed cache (or reuses
// them), and packs the pause and CoreDNS image archives. Prints one line per missing prerequisite and exits 1.
import { mkdirSync, mkdtempSync, copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isExecutable, locateAssets, MissingAssetsError } from '../envtest/assets.js';
import { goBuildModule, hasGo, kubernetesVersionLdflags } from '../envtest/go-build.js';
import { withLock } from '../envtest/lock.js';
import { clusterPaths, clusterToolsDir, type ClusterAssets } from './assets.js';
import { buildCImage } from './c-image.js';
import { packOciArchive } from './oci-archive.js';
import { installMissingPackages, isRoot } from './prerequisites.js';

const say = (line: string): void => console.log(`cluster: ${line}`);

class SetupError extends Error {}

function checkMachine(): void {
  const problems = installMissingPackages(say);
  if (!isRoot()) problems.push('not running as root: a real cluster needs root (network namespaces, mounts, cgroups)');
  try {
    locateAssets();
  } catch (error) {
    if (!(error instanceof MissingAssetsError)) throw error;
    problems.push(`the envtest cache (etcd, helm, kubectl) is incomplete: ${error.message}`);
  }
  if (problems.length > 0) throw new SetupError(problems.join('\ncluster: '));
}

/** Builds the Go binaries that are missing, under the cache's lock; true if it built anything. */
async function ensureBinaries(paths: Omit<ClusterAssets, 'envtest'>): Promise<boolean> {
  const builds = [
    {
      name: 'k8s',
      outPath: paths.k8s,
      ldflags: kubernetesVersionLdflags(paths.versions.kubernetes),
      what: `kubelet, kube-proxy, kube-scheduler, kube-controller-manager, kube-apiserver ${paths.versions.kubernetes}`,
    },
    { name: 'coredns', outPath: paths.coredns, ldflags: [], what: `CoreDNS ${paths.versions.coredns}` },
  ];
  const missing = () => builds.filter((build) => !isExecutable(build.outPath));
  if (missing().length === 0) return false;
  const onWait = (pid: number) => say(`another set-up is building (pid ${pid}), waiting…`);
  return withLock(
    join(paths.cacheDir, 'build.lock'),
    async () => {
      const toBuild = missing();
      if (toBuild.length === 0) return false;
      if (!hasGo()) throw new SetupError(`no ${toBuild.map((build) => build.outPath).join(' or ')} and no \`go\` on PATH: install Go >= 1.26`);
      for (const build of toBuild) {
        say(`building ${build.what} (minutes on a cold Go build cache)…`);
        const started = performance.now();
        await goBuildModule({ name: build.name, moduleDir: join(clusterToolsDir, build.name), ldflags: build.ldflags, outPath: build.outPath });
        say(`built ${build.name} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
      }
      return true;
    },
    { onWait },
  );
}

/** Both archives are cheap to make, so they are made every time, each written aside and renamed into place. */
async function packImages(paths: Omit<ClusterAssets, 'envtest'>): Promise<void> {
  await buildCImage({
    programs: { pause: join(clusterToolsDir, 'images', 'pause.c') },
    out: paths.images.pause,
    reference: paths.references.pause,
    config: { Entrypoint: ['/pause'] },
  });
  const rootfs = mkdtempSync(join(paths.cacheDir, 'coredns-rootfs-'));
  try {
    copyFileSync(paths.coredns, join(rootfs, 'coredns'));
    await packOciArchive({ rootfs, out: paths.images.coredns, reference: paths.references.coredns, config: { Entrypoint: ['/coredns'] } });
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

async function setup(): Promise<void> {
  checkMachine();
  const paths = clusterPaths();
  mkdirSync(paths.cacheDir, { recursive: true });
  const built = await ensureBinaries(paths);
  await packImages(paths);
  say(`kubernetes ${paths.versions.kubernetes}, CoreDNS ${paths.versions.coredns} (${built ? 'built' : 'reused from cache'})`);
  say(`  k8s      ${paths.k8s}`);
  say(`  coredns  ${paths.coredns}`);
  say(`  images   ${paths.images.pause}, ${paths.images.coredns}`);
}

setup().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`cluster: ${message}`);
  process.exit(1);
});
