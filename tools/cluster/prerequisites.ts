// The machine's own pieces a real cluster needs, each with the Debian package that provides it. `npm run
// cluster:setup` installs the missing ones (as root, with apt-get, like .ci/run); starting a cluster only checks.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CNI_BIN_DIR = '/usr/lib/cni';

interface Prerequisite {
  /** A command looked up on PATH, or an absolute path that must exist. */
  needs: string;
  debianPackage: string;
  why: string;
}

const PREREQUISITES: readonly Prerequisite[] = [
  { needs: 'containerd', debianPackage: 'containerd', why: 'the container runtime' },
  { needs: 'ctr', debianPackage: 'containerd', why: 'imports image archives' },
  { needs: 'runc', debianPackage: 'runc', why: 'runs the containers' },
  { needs: `${CNI_BIN_DIR}/bridge`, debianPackage: 'containernetworking-plugins', why: 'pod networking (bridge, host-local, portmap, loopback)' },
  { needs: 'iptables-restore', debianPackage: 'iptables', why: 'kube-proxy and the CNI plugins' },
  { needs: 'conntrack', debianPackage: 'conntrack', why: 'kube-proxy clears stale UDP flows' },
  { needs: 'ip', debianPackage: 'iproute2', why: 'the network namespace and veth pair' },
  { needs: 'nsenter', debianPackage: 'util-linux', why: 'starts each component in the network namespace' },
  { needs: 'gcc', debianPackage: 'gcc', why: 'builds the static pause program' },
  { needs: '/usr/include/stdio.h', debianPackage: 'libc6-dev', why: 'the C library to link the pause program statically' },
  // Not the cluster's, but what the rest of `npm test` needs from Debian: installed here too, so that the README's
  // `npm ci && npm test` sets up a fresh machine by itself (pretest runs cluster:setup).
  { needs: 'buildah', debianPackage: 'buildah', why: 'builds the container images the cluster tests install' },
  { needs: 'debootstrap', debianPackage: 'debootstrap', why: 'the Debian base of those images' },
  { needs: 'strace', debianPackage: 'strace', why: 'the durability test watches the server sync its database' },
  { needs: 'chromium', debianPackage: 'chromium', why: 'the real-browser sign-in test' },
];

function isPresent(needs: string): boolean {
  if (needs.startsWith('/')) return existsSync(needs);
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', needs], { stdio: 'ignore' }).status === 0;
}

export function missingPrerequisites(): Prerequisite[] {
  return PREREQUISITES.filter((prerequisite) => !isPresent(prerequisite.needs));
}

/** One line per missing piece, naming the package that provides it. */
export function describeMissing(missing: readonly Prerequisite[]): string[] {
  return missing.map(({ needs, debianPackage, why }) => `${needs} is missing (${why}): apt-get install ${debianPackage}`);
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Installs the packages of the missing pieces with apt-get; returns the lines that still describe missing pieces. */
export function installMissingPackages(log: (line: string) => void): string[] {
  const missing = missingPrerequisites();
  if (missing.length === 0) return [];
  if (!isRoot() || !isPresent('apt-get')) return describeMissing(missing);
  const packages = [...new Set(missing.map((prerequisite) => prerequisite.debianPackage))];
  log(`installing ${packages.join(' ')} with apt-get`);
  const install = (): boolean =>
    spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  // A fresh machine has no package lists yet.
  if (!install() && spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' }).status === 0) install();
  return describeMissing(missingPrerequisites());
}
