// Unpacks an OCI image archive into a root filesystem the way a container runtime does: the layers in order, each
// one's whiteouts deleting what lower layers had.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Volumes?: Record<string, object>;
  ExposedPorts?: Record<string, object>;
  Healthcheck?: unknown;
  Labels?: Record<string, string>;
}

interface Descriptor {
  digest: string;
  mediaType: string;
}

function tar(args: string[]): string {
  const result = spawnSync('tar', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`tar ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Unpacks archive's only image into dir/rootfs and returns its configuration (the config file's `config`). */
export function unpackOciArchive(archive: string, dir: string): { rootfs: string; config: ImageConfig } {
  const layout = join(dir, 'layout');
  const rootfs = join(dir, 'rootfs');
  mkdirSync(layout, { recursive: true });
  mkdirSync(rootfs, { recursive: true });
  tar(['-xf', archive, '-C', layout]);
  const blob = (descriptor: Descriptor): string => join(layout, 'blobs', ...descriptor.digest.split(':'));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  if (index.manifests.length !== 1) throw new Error(`${archive} holds ${index.manifests.length} images, not one`);
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]!), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
  for (const layer of manifest.layers) {
    const entries = tar(['-tzf', blob(layer)])
      .split('\n')
      .filter(Boolean);
    for (const entry of entries) {
      const name = basename(entry);
      if (!name.startsWith('.wh.')) continue;
      const target = name === '.wh..wh..opq' ? join(rootfs, dirname(entry)) : join(rootfs, dirname(entry), name.slice(4));
      rmSync(target, { recursive: true, force: true });
      if (name === '.wh..wh..opq') mkdirSync(target, { recursive: true });
    }
    tar(['-xzf', blob(layer), '-C', rootfs, '--same-owner', '--numeric-owner', '--exclude=.wh.*']);
  }
  const { config } = JSON.parse(readFileSync(blob(manifest.config), 'utf8')) as { config: ImageConfig };
  rmSync(layout, { recursive: true, force: true });
  return { rootfs, config };
}
