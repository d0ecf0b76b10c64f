import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMAGE_NAME_ANNOTATION, MEDIA_TYPES, packOciArchive } from '../../tools/cluster/oci-archive.js';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('packOciArchive', () => {
  let dir: string;
  let rootfs: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'oci-archive-test-'));
    rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(join(rootfs, 'usr', 'bin', 'hello'), '#!/bin/sh\necho hello\n');
    chmodSync(join(rootfs, 'usr', 'bin', 'hello'), 0o755);
    writeFileSync(join(rootfs, 'etc', 'motd'), 'welcome\n');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Unpacks the archive and returns a reader of its files, checking every blob's name against its content. */
  function unpack(archive: string): { read: (path: string) => Buffer; blob: (descriptor: Descriptor) => Buffer; entries: string[] } {
    const out = mkdtempSync(join(dir, 'unpacked-'));
    execFileSync('tar', ['-xf', archive, '-C', out]);
    const entries = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n');
    const read = (path: string): Buffer => readFileSync(join(out, path));
    const blob = (descriptor: Descriptor): Buffer => {
      const data = read(join('blobs', 'sha256', descriptor.digest.replace('sha256:', '')));
      expect(sha256(data)).toBe(descriptor.digest);
      expect(data.length).toBe(descriptor.size);
      return data;
    };
    return { read, blob, entries };
  }

  it('writes an OCI layout whose index names the image and whose manifest, config and layer match their digests', async () => {
    const out = join(dir, 'images', 'hello.oci.tar');
    const reference = 'docker.io/library/hello:0.1.0';
    const { digest } = await packOciArchive({
      rootfs,
      out,
      reference,
      config: { Entrypoint: ['/usr/bin/hello'], Cmd: ['--loud'], User: '65532:65532', Env: ['A=1'], WorkingDir: '/etc' },
    });

    const { read, blob, entries } = unpack(out);
    expect(entries).toEqual(expect.arrayContaining(['oci-layout', 'index.json']));
    expect(entries.filter((entry) => entry.startsWith('blobs/sha256/') && !entry.endsWith('/'))).toHaveLength(3);
    expect(JSON.parse(read('oci-layout').toString())).toEqual({ imageLayoutVersion: '1.0.0' });

    const index = JSON.parse(read('index.json').toString()) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(MEDIA_TYPES.index);
    expect(index.manifests).toHaveLength(1);
    const manifestDescriptor = index.manifests[0]!;
    expect(manifestDescriptor.mediaType).toBe(MEDIA_TYPES.manifest);
    expect(manifestDescriptor.digest).toBe(digest);
    expect(manifestDescriptor.annotations).toEqual({ [IMAGE_NAME_ANNOTATION]: reference, 'org.opencontainers.image.ref.name': '0.1.0' });
    expect(manifestDescriptor.platform).toEqual({ architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux' });

    const manifest = JSON.parse(blob(manifestDescriptor).toString()) as { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[] };
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe(MEDIA_TYPES.manifest);
    expect(manifest.config.mediaType).toBe(MEDIA_TYPES.config);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]!.mediaType).toBe(MEDIA_TYPES.layer);

    const config = JSON.parse(blob(manifest.config).toString()) as {
      architecture: string;
      os: string;
      config: Record<string, unknown>;
      rootfs: { type: string; diff_ids: string[] };
    };
    expect(config.os).toBe('linux');
    expect(config.architecture).toBe(manifestDescriptor.platform?.architecture);
    expect(config.config).toEqual({ Entrypoint: ['/usr/bin/hello'], Cmd: ['--loud'], User: '65532:65532', Env: ['A=1'], WorkingDir: '/etc' });
    // Uncompressed, so the layer's digest is also its diff ID.
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: [manifest.layers[0]!.digest] });

    const layerPath = join(dir, 'layer.tar');
    writeFileSync(layerPath, blob(manifest.layers[0]!));
    const listing = execFileSync('tar', ['-tvf', layerPath], { encoding: 'utf8' }).trim().split('\n');
    const names = listing.map((line) => line.split(/\s+/).pop());
    expect(names).toEqual(['etc/', 'etc/motd', 'usr/', 'usr/bin/', 'usr/bin/hello']);
    expect(listing.find((line) => line.endsWith('usr/bin/hello'))).toMatch(/^-rwxr-xr-x /);
    const layerOut = mkdtempSync(join(dir, 'layer-'));
    execFileSync('tar', ['-xf', layerPath, '-C', layerOut]);
    expect(readFileSync(join(layerOut, 'etc', 'motd'), 'utf8')).toBe('welcome\n');

    // Nothing is left beside the archive.
    expect(readdirSync(join(dir, 'images'))).toEqual(['hello.oci.tar']);
  });

  it('gives the same digest for the same folder, a new one when a file changes, and PATH when no Env is given', async () => {
    const pack = (name: string) => packOciArchive({ rootfs, out: join(dir, name), reference: 'gatehouse.local/hello:1', config: { Cmd: ['/usr/bin/hello'] } });
    const first = await pack('a.oci.tar');
    const again = await pack('b.oci.tar');
    expect(again.digest).toBe(first.digest);

    writeFileSync(join(rootfs, 'etc', 'motd'), 'changed\n');
    expect((await pack('c.oci.tar')).digest).not.toBe(first.digest);

    const { read, blob } = unpack(join(dir, 'a.oci.tar'));
    const index = JSON.parse(read('index.json').toString()) as { manifests: Descriptor[] };
    const manifest = JSON.parse(blob(index.manifests[0]!).toString()) as { config: Descriptor };
    const config = JSON.parse(blob(manifest.config).toString()) as { config: { Env: string[] } };
    expect(config.config.Env).toEqual([expect.stringMatching(/^PATH=.*\/usr\/bin/)]);
  });

  it('refuses an empty root filesystem and a reference without a registry or tag, leaving no archive', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const out = join(dir, 'x.oci.tar');
    await expect(packOciArchive({ rootfs: empty, out, reference: 'gatehouse.local/x:1', config: {} })).rejects.toThrow(/empty/);
    await expect(packOciArchive({ rootfs, out, reference: 'hello', config: {} })).rejects.toThrow(/fully qualified/);
    await expect(packOciArchive({ rootfs, out, reference: 'gatehouse.local/hello', config: {} })).rejects.toThrow(/fully qualified/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['empty', 'rootfs']);
  });
});
