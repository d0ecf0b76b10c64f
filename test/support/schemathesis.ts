import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Pinned, so a new release cannot turn the suite red on its own; raise it on purpose. */
export const SCHEMATHESIS_VERSION = '4.32.5';

const CACHE = fileURLToPath(new URL(`../../node_modules/.cache/gatehouse/schemathesis-${SCHEMATHESIS_VERSION}`, import.meta.url));

/**
 * The `st` command of a virtual environment holding schemathesis from PyPI, installed on first use (about 10 s) and
 * kept under node_modules/.cache, so `npm ci` starts it afresh. A machine without Python stops here with one line.
 */
export async function schemathesisCommand(): Promise<string> {
  const st = join(CACHE, 'bin', 'st');
  // Written last, so an interrupted install is never taken for a finished one.
  const installed = join(CACHE, 'installed');
  if (existsSync(installed)) return st;
  try {
    await run('python3', ['-c', 'import venv, ensurepip']);
  } catch {
    throw new Error('python3 with venv and ensurepip is needed to install schemathesis for the contract fuzz test (apt-get install python3-venv)');
  }
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  try {
    await run('python3', ['-m', 'venv', CACHE]);
    await run(join(CACHE, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], { timeout: 300_000 });
    await run(st, ['--version']);
  } catch (error) {
    rmSync(CACHE, { recursive: true, force: true });
    const detail = error instanceof Error ? error.message.split('\n').slice(0, 3).join(' ') : String(error);
    throw new Error(`could not install schemathesis ${SCHEMATHESIS_VERSION} from PyPI: ${detail}`);
  }
  writeFileSync(installed, `${SCHEMATHESIS_VERSION}\n`);
  return st;
}
