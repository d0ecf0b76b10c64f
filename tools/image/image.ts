// Builds an image from a Dockerfile into an OCI archive, as `docker build` would on a normal machine: the stand-ins
// for its FROM images, then buildah. Cached by a key over the Dockerfile, .dockerignore, every file it COPYs from the
// context, the stand-ins and the reference.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureStandIns, standInKey } from './base-images.js';
import { buildah, buildDockerfile } from './buildah.js';
import { cachedArchive, hashTree, logsDir } from './cache.js';
import { baseImages, contextSources, parseDockerfile } from './dockerfile.js';
import { requireCommand } from './run.js';

export interface ImageBuild {
  /** The archive's file name starts with it; older archives of the same name are removed. */
  name: string;
  dockerfile: string;
  context: string;
  /** Full reference, registry and tag included: docker.io/library/gatehouse:0.1.0. */
  reference: string;
}

export interface BuiltImage {
  archive: string;
  reference: string;
}

function cacheKey({ dockerfile, context, reference }: ImageBuild, bases: string[]): string {
  const hash = createHash('sha256');
  hash.update(`${reference}\n`);
  for (const base of bases) hash.update(`${base} ${standInKey(base)}\n`);
  hash.update(readFileSync(dockerfile));
  const ignore = join(context, '.dockerignore');
  if (existsSync(ignore)) hash.update(readFileSync(ignore));
  for (const source of contextSources(parseDockerfile(readFileSync(dockerfile, 'utf8')))) {
    hashTree(hash, context, join(context, source));
  }
  return hash.digest('hex');
}

export async function buildImage(build: ImageBuild): Promise<BuiltImage> {
  const bases = baseImages(parseDockerfile(readFileSync(build.dockerfile, 'utf8')));
  const key = cacheKey(build, bases);
  const archive = await cachedArchive(build.name, key, async (partial) => {
    requireCommand('buildah', 'buildah');
    requireCommand('debootstrap', 'debootstrap');
    const log = join(logsDir(), `${build.name}.log`);
    writeFileSync(log, '');
    const started = Date.now();
    console.error(`image: building ${build.reference} (log: ${log})…`);
    // Working containers left by a build that was killed; nothing else uses this storage while the lock is held.
    await buildah(['rm', '--all'], log);
    await ensureStandIns(bases, log);
    await buildDockerfile({ ...build, archive: partial, log });
    console.error(`image: built ${build.reference} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
  return { archive, reference: build.reference };
}
