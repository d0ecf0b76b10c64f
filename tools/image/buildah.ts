// buildah runs Dockerfile builds without a daemon: as root, with chroot isolation (no container runtime, no
// network namespace to set up), on storage of its own inside the images cache so that nothing on the machine's
// default storage is touched.
import { existsSync, mkdirSync, realpathSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { imagesCacheDir } from './cache.js';
import { run } from './run.js';

const OVERLAYFS_MAGIC = 0x794c7630;

/**
 * overlay keeps each layer as the files it changed; vfs, the fallback, copies the whole tree for every layer (a
 * gigabyte of node_modules several times over). overlay cannot sit on overlayfs, as it would inside a container.
 */
function storageDriver(): string {
  const chosen = process.env.GATEHOUSE_BUILDAH_DRIVER;
  if (chosen) return chosen;
  mkdirSync(imagesCacheDir(), { recursive: true });
  return statfsSync(imagesCacheDir()).type === OVERLAYFS_MAGIC ? 'vfs' : 'overlay';
}

function globalArgs(): string[] {
  const driver = storageDriver();
  // A storage root per driver: buildah refuses to open a root made with another one.
  const root = join(imagesCacheDir(), 'buildah', driver);
  return ['--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--storage-driver', driver];
}

export async function buildah(args: string[], log?: string): Promise<string> {
  return run('buildah', [...globalArgs(), ...args], { env: { ...process.env, BUILDAH_ISOLATION: 'chroot' }, log });
}

/** The image's ID, or undefined when storage has no image of that name. */
export async function imageId(image: string): Promise<string | undefined> {
  try {
    return (await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', image])).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface DockerfileBuild {
  dockerfile: string;
  context: string;
  reference: string;
  /** Where the OCI archive goes, named reference inside. */
  archive: string;
  log: string;
}

/**
 * The host's CA bundle, for npm in the build stages: on a machine whose TLS goes through an intercepting proxy it
 * holds the proxy's CA. Mounted for RUN steps only, and a build argument, so that none of it reaches the image.
 */
function hostCaArgs(): string[] {
  const candidates = [process.env.NODE_EXTRA_CA_CERTS, process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt'];
  const file = candidates.find((path) => path && existsSync(path));
  if (!file) return [];
  const inside = '/run/host-ca.crt';
  return ['--volume', `${realpathSync(file)}:${inside}:ro`, '--build-arg', `NODE_EXTRA_CA_CERTS=${inside}`];
}

export async function buildDockerfile({ dockerfile, context, reference, archive, log }: DockerfileBuild): Promise<void> {
  // --pull=never: the base images are the stand-ins in local storage, and no registry is reachable to ask anyway.
  // --layers: a change to src/ starts again from its COPY, not from npm ci.
  await buildah(['build', '--pull=never', '--layers', ...hostCaArgs(), '-f', dockerfile, '-t', reference, context], log);
  await buildah(['push', reference, `oci-archive:${archive}:${reference}`], log);
}
