// No image registry is reachable here, so the images the Dockerfiles start FROM are assembled locally and stored in
// buildah's storage under those very names: Debian's minimal base from debootstrap, and for node:24-bookworm the
// project's own Node.js 24 binary (the npm package `node`) with npm on top. They are stand-ins: smaller than the
// real images, with what the builds use and no more.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../envtest/assets.js';
import { buildah, imageId } from './buildah.js';
import { imagesCacheDir, sha256 } from './cache.js';
import { unmountUnder } from './mounts.js';
import { run } from './run.js';

const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
/** Bump when the steps that make the minimal base change: its key is these constants, not this file. */
const MINBASE_RECIPE = 1;
/** The npm that Node.js 24 bundles in the real node:24 images is an 11.x; this is the one the project is locked with. */
const NPM_VERSION = '11.19.1';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface StandIn {
  withNode: boolean;
  cmd: string[];
}

// better-sqlite3 13 ships prebuilt binaries, so the build stage compiles nothing: no python3, make or g++.
const STAND_INS: Record<string, StandIn> = {
  'docker.io/library/debian:bookworm-slim': { withNode: false, cmd: ['bash'] },
  'docker.io/library/node:24-bookworm': { withNode: true, cmd: ['node'] },
};

const nodePackage = join(repoRoot, 'node_modules', 'node');

function nodeVersion(): string {
  const { version } = JSON.parse(readFileSync(join(nodePackage, 'package.json'), 'utf8')) as { version: string };
  if (!version.startsWith('24.')) throw new Error(`node_modules/node is Node.js ${version}, not 24: run npm ci`);
  return version;
}

function minbaseKey(): string {
  return sha256(String(MINBASE_RECIPE), SUITE, MIRROR).slice(0, 16);
}

/**
 * A second name for the stand-in that says which key it was made for. Not a label: labels would be inherited by
 * every image built FROM it, and the real base images carry none.
 */
function keyTag(key: string): string {
  return `localhost/gatehouse-stand-in:${key.slice(0, 16)}`;
}

/** Changes whenever the stand-in for reference would come out different; throws for an image it cannot stand in for. */
export function standInKey(reference: string): string {
  const standIn = STAND_INS[reference];
  if (!standIn) {
    throw new Error(`no stand-in for FROM ${reference}: only ${Object.keys(STAND_INS).join(' and ')} (tools/image/base-images.ts)`);
  }
  const ownSource = readFileSync(fileURLToPath(import.meta.url));
  return sha256(reference, minbaseKey(), standIn.withNode ? `${nodeVersion()} npm ${NPM_VERSION}` : '', ownSource);
}

// What debuerreotype does to Debian's slim images, so that packages installed FROM the stand-in stay as small.
const DPKG_EXCLUDES = `path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
`;

const APT_SOURCES = `Types: deb
URIs: ${MIRROR}
Suites: ${SUITE} ${SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR}-security
Suites: ${SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

/** The container runtime provides /dev, the resolver and the host name, and a slim image keeps no package caches. */
function slim(root: string): void {
  writeFileSync(join(root, 'etc/dpkg/dpkg.cfg.d/docker'), DPKG_EXCLUDES);
  rmSync(join(root, 'etc/apt/sources.list'), { force: true });
  writeFileSync(join(root, 'etc/apt/sources.list.d/debian.sources'), APT_SOURCES);
  for (const path of ['dev', 'var/lib/apt/lists', 'var/cache/apt', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale']) {
    rmSync(join(root, path), { recursive: true, force: true });
    mkdirSync(join(root, path), { recursive: true });
  }
  for (const file of ['etc/resolv.conf', 'etc/hostname']) writeFileSync(join(root, file), '');
}

/** Debian's minimal system as debootstrap leaves it, made once per MINBASE_RECIPE and kept for the stand-ins. */
async function ensureMinbase(log: string): Promise<string> {
  const dir = join(imagesCacheDir(), 'minbase', minbaseKey());
  const rootfs = join(dir, 'rootfs');
  if (existsSync(join(dir, 'complete'))) return rootfs;
  // A debootstrap that was killed leaves /proc and /sys mounted inside the tree: deleting through them would be bad.
  unmountUnder(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.error(`image: debootstrap ${SUITE} minbase (about 2 minutes, once)…`);
  await run('debootstrap', ['--variant=minbase', SUITE, rootfs, MIRROR], { log });
  unmountUnder(rootfs);
  writeFileSync(join(dir, 'complete'), '');
  return rootfs;
}

async function npmTarball(log: string): Promise<string> {
  const dir = join(imagesCacheDir(), 'downloads');
  const tarball = join(dir, `npm-${NPM_VERSION}.tgz`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(dir, { recursive: true });
  await run('npm', ['pack', `npm@${NPM_VERSION}`, '--pack-destination', dir], { log, cwd: dir });
  return tarball;
}

async function commitStandIn(reference: string, standIn: StandIn, key: string, log: string): Promise<void> {
  const rootfs = await ensureMinbase(log);
  console.error(`image: assembling the stand-in for ${reference}…`);
  const container = (await buildah(['from', 'scratch'], log)).trim();
  try {
    const mount = (await buildah(['mount', container], log)).trim();
    await run('cp', ['-a', `${rootfs}/.`, mount], { log });
    slim(mount);
    if (standIn.withNode) {
      cpSync(join(nodePackage, 'bin', 'node'), join(mount, 'usr/local/bin/node'));
      const npmDir = join(mount, 'usr/local/lib/node_modules/npm');
      mkdirSync(npmDir, { recursive: true });
      await run('tar', ['-xzf', await npmTarball(log), '-C', npmDir, '--strip-components=1', '--no-same-owner'], { log });
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(mount, 'usr/local/bin/npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(mount, 'usr/local/bin/npx'));
    }
    await buildah(['umount', container], log);
    await buildah(['config', '--env', `PATH=${PATH}`, '--cmd', JSON.stringify(standIn.cmd), container], log);
    await buildah(['commit', '--rm', container, reference], log);
    await buildah(['tag', reference, keyTag(key)], log);
  } catch (error) {
    await buildah(['rm', container], log).catch(() => undefined);
    throw error;
  }
}

/** Puts each stand-in into buildah's storage unless the one there is current. Call holding the images lock. */
export async function ensureStandIns(references: string[], log: string): Promise<void> {
  for (const reference of references) {
    const key = standInKey(reference);
    const current = await imageId(reference);
    if (current && current === (await imageId(keyTag(key)))) continue;
    await commitStandIn(reference, STAND_INS[reference]!, key, log);
  }
}
