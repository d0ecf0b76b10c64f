// An image holding nothing but static C programs: the pod sandbox's pause process, and test programs. Needs no base
// image and no registry, and builds in a fraction of a second.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packOciArchive, type OciImageConfig, type PackedImage } from './oci-archive.js';

export interface CImageOptions {
  /** Program name (its path in the image is `/<name>`) to C source file. */
  programs: Record<string, string>;
  out: string;
  reference: string;
  config: OciImageConfig;
}

export async function buildCImage({ programs, out, reference, config }: CImageOptions): Promise<PackedImage> {
  mkdirSync(dirname(out), { recursive: true });
  const rootfs = mkdtempSync(`${out}.rootfs-`);
  try {
    for (const [name, source] of Object.entries(programs)) {
      const binary = join(rootfs, name);
      try {
        execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', binary, source], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (error) {
        const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
        throw new Error(`gcc -static ${source} failed: ${stderr || (error as Error).message}`);
      }
      chmodSync(binary, 0o755);
    }
    return await packOciArchive({ rootfs, out, reference, config });
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}
