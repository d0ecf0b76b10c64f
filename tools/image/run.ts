// Builds run for minutes and print a lot: their output goes to a log file, and a failure quotes the log's end so
// the error is in front of whoever ran the build without scrolling through apt and npm chatter.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Appended to; without it the output is captured in memory only. */
  log?: string;
  input?: string;
}

export class CommandError extends Error {
  override name = 'CommandError';
}

const TAIL = 4000;

/** Runs a command to its end and resolves with its standard output; rejects, quoting its output, on a non-zero exit. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const log = options.log ? createWriteStream(options.log, { flags: 'a' }) : undefined;
  log?.write(`\n$ ${[command, ...args].join(' ')}\n`);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(options.input);
  const stdout: Buffer[] = [];
  let combined = '';
  const keep = (chunk: Buffer): void => {
    log?.write(chunk);
    combined = (combined + chunk.toString()).slice(-TAIL);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    keep(chunk);
  });
  child.stderr!.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  if (code !== 0) {
    const where = options.log ? ` (whole output: ${options.log})` : '';
    throw new CommandError(`${command} ${args.slice(0, 3).join(' ')} … exited with ${code}${where}:\n${combined.trimEnd()}`);
  }
  return Buffer.concat(stdout).toString();
}

/** Fails early, naming the Debian package, when command is missing or the build would lack the root it needs. */
export function requireCommand(command: string, debianPackage: string): void {
  if (process.getuid?.() !== 0) throw new Error('image builds run as root (debootstrap, and buildah with chroot isolation)');
  if (spawnSync(command, ['--version']).error) throw new Error(`${command} is not installed (apt-get install ${debianPackage})`);
}
