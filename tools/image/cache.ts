// Image builds take minutes cold; their results live outside the repository, keyed by a hash of everything that
// goes into them, so that every clone on the machine shares them and a run with nothing changed costs seconds.
import { createHash, type Hash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cacheRoot } from '../envtest/assets.js';
import { withLock } from '../envtest/lock.js';

export function imagesCacheDir(): string {
  return join(cacheRoot(), 'images');
}

export function logsDir(): string {
  const dir = join(imagesCacheDir(), 'logs');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Hashes path (a file, a symbolic link or a whole tree) by names relative to root, modes and contents. */
export function hashTree(hash: Hash, root: string, path: string): void {
  const stat = lstatSync(path);
  const name = relative(root, path);
  if (stat.isDirectory()) {
    hash.update(`dir ${name}\n`);
    for (const entry of readdirSync(path).sort()) hashTree(hash, root, join(path, entry));
  } else if (stat.isSymbolicLink()) {
    hash.update(`link ${name} ${readlinkSync(path)}\n`);
  } else {
    // The mode matters: COPY keeps it, and bin/gatehouse.js must stay executable.
    hash.update(`file ${name} ${(stat.mode & 0o777).toString(8)} ${stat.size}\n`);
    hash.update(readFileSync(path));
  }
}

export function sha256(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

/**
 * Runs work holding the one lock of the images cache. One lock for everything: the stand-in base images and the
 * buildah storage are shared by every image, and two builds on two cores would each take twice as long anyway.
 */
export async function withImagesLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(imagesCacheDir(), { recursive: true });
  return withLock(join(imagesCacheDir(), 'build.lock'), work, {
    onWait: (pid) => console.error(`image: another build (pid ${pid}) holds the images cache, waiting…`),
  });
}

/**
 * The archive built for key, building it with build(partialPath) under the lock when it is missing. Older archives
 * of the same name are removed once the new one is in place: each is a few hundred MB.
 */
export async function cachedArchive(name: string, key: string, build: (partial: string) => Promise<void>): Promise<string> {
  const dir = join(imagesCacheDir(), 'archives');
  const archive = join(dir, `${name}-${key.slice(0, 16)}.tar`);
  if (existsSync(archive)) return archive;
  return withImagesLock(async () => {
    // Asked again: whoever held the lock before us may have built this very archive.
    if (existsSync(archive)) return archive;
    mkdirSync(dir, { recursive: true });
    // Only the lock holder writes archives: any half-written one is left by a build that was killed.
    for (const file of readdirSync(dir)) if (file.includes('.partial-')) rmSync(join(dir, file), { force: true });
    const partial = `${archive}.partial-${process.pid}`;
    try {
      await build(partial);
      renameSync(partial, archive);
    } finally {
      rmSync(partial, { force: true });
    }
    const sameName = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{16}\\.tar$`);
    for (const old of readdirSync(dir)) {
      if (sameName.test(old) && join(dir, old) !== archive) rmSync(join(dir, old), { force: true });
    }
    return archive;
  });
}
