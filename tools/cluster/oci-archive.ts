// Packs a root-filesystem folder into a one-layer OCI image archive (the `oci-layout` format inside a tar), the format
// `ctr images import` reads. No registry is reachable on our machines, so every image a test cluster runs is made this
// way. The layer is an uncompressed tar made by the system `tar`, deterministic for the same folder (sorted names,
// mtime 0), so packing an unchanged folder again gives the same digests.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

export interface OciImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  /** `uid[:gid]` or a name from the image's /etc/passwd. */
  User?: string;
  /** `NAME=value` entries; without any, PATH is set to the usual default. */
  Env?: string[];
  WorkingDir?: string;
}

export interface PackOciArchiveOptions {
  /** The folder that becomes `/` in the container; file modes and numeric owners are kept as they are. */
  rootfs: string;
  /** Where to write the archive, e.g. `…/gatehouse.oci.tar`; written aside and renamed into place when complete. */
  out: string;
  /** Full image reference the importer names the image by, e.g. `docker.io/library/gatehouse:0.1.0`. */
  reference: string;
  config: OciImageConfig;
}

export interface PackedImage {
  /** `sha256:…` of the image manifest: what `ctr images ls` shows as the image's digest. */
  digest: string;
}

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

/** The annotation containerd's importer takes the image name from. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';
const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Fixed, so that the config (and so the manifest digest) depends on the content alone.
const EPOCH = '1970-01-01T00:00:00Z';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const blobPath = (layoutDir: string, digest: string): string => join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));

function writeJsonBlob(layoutDir: string, mediaType: string, value: unknown): Descriptor {
  const data = Buffer.from(JSON.stringify(value));
  const digest = sha256(data);
  writeFileSync(blobPath(layoutDir, digest), data);
  return { mediaType, digest, size: data.length };
}

function runTar(args: readonly string[], stdout: 'pipe' | 'ignore'): { done: Promise<void>; child: ReturnType<typeof spawn> } {
  const child = spawn('tar', args, { stdio: ['ignore', stdout, 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(new Error(`could not run tar: ${error.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`))));
  });
  return { done, child };
}

// Top-level names as arguments rather than `.`, so that no `./` entry resets the permissions of `/` on extraction.
async function writeLayer(rootfs: string, layoutDir: string): Promise<Descriptor> {
  const entries = readdirSync(rootfs).sort();
  if (entries.length === 0) throw new Error(`${rootfs} is empty: an image needs at least one file`);
  const partial = join(layoutDir, 'layer.partial');
  const hash = createHash('sha256');
  let size = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const tar = runTar(
    ['--create', '--file=-', '--sort=name', '--mtime=@0', '--numeric-owner', '--format=gnu', `--directory=${rootfs}`, '--', ...entries],
    'pipe',
  );
  await Promise.all([pipeline(tar.child.stdout!, tee, createWriteStream(partial)), tar.done]);
  const digest = `sha256:${hash.digest('hex')}`;
  renameSync(partial, blobPath(layoutDir, digest));
  return { mediaType: MEDIA_TYPES.layer, digest, size };
}

function goArch(): string {
  const arches: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  const arch = arches[process.arch];
  if (!arch) throw new Error(`no OCI architecture name known for ${process.arch}`);
  return arch;
}

/** Writes a one-layer image of `rootfs` for this machine's architecture as an OCI archive at `out`. */
export async function packOciArchive({ rootfs, out, reference, config }: PackOciArchiveOptions): Promise<PackedImage> {
  if (!statSync(rootfs).isDirectory()) throw new Error(`${rootfs} is not a folder`);
  const tag = /:([\w][\w.-]{0,127})$/.exec(reference.split('/').pop() ?? '')?.[1];
  if (!tag || !reference.includes('/')) throw new Error(`image reference ${reference} must be fully qualified with a tag, e.g. docker.io/library/name:1.0`);

  mkdirSync(dirname(out), { recursive: true });
  const layoutDir = mkdtempSync(`${out}.layout-`);
  try {
    mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
    const layer = await writeLayer(rootfs, layoutDir);
    const platform = { architecture: goArch(), os: 'linux' };
    const imageConfig = writeJsonBlob(layoutDir, MEDIA_TYPES.config, {
      created: EPOCH,
      ...platform,
      config: { ...config, Env: config.Env ?? [DEFAULT_PATH] },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      history: [{ created: EPOCH, created_by: 'gatehouse packOciArchive' }],
    });
    const manifest = writeJsonBlob(layoutDir, MEDIA_TYPES.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: imageConfig,
      layers: [layer],
    });
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [{ ...manifest, platform, annotations: { [IMAGE_NAME_ANNOTATION]: reference, [REF_NAME_ANNOTATION]: tag } }],
    };
    writeFileSync(join(layoutDir, 'index.json'), JSON.stringify(index));
    writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

    const partial = `${out}.partial-${process.pid}`;
    const tar = runTar(
      [
        '--create',
        `--file=${partial}`,
        '--sort=name',
        '--mtime=@0',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        `--directory=${layoutDir}`,
        'oci-layout',
        'index.json',
        'blobs',
      ],
      'ignore',
    );
    try {
      await tar.done;
    } catch (error) {
      rmSync(partial, { force: true });
      throw error;
    }
    renameSync(partial, out);
    return { digest: manifest.digest };
  } finally {
    rmSync(layoutDir, { recursive: true, force: true });
  }
}
