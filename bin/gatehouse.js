#!/usr/bin/env node
// The installed entry point runs the compiled CLI; a source checkout without a build is told how to fix it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
const script = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

/**
 * Memory settings for the long-running commands, measured with `npm run bench` (docs/decisions.md, "Memory
 * settings"):
 * - serve: Node 24 lets each of V8's semi-spaces grow to 64 MiB, which left 185–217 MiB of heap reserved after the
 *   load for no measurable CPU gain over 16 MiB.
 * - serve also gets --expose-gc: it gives the heap a burst of load grew back once it falls idle (IDLE_GC_AFTER).
 * - operator: it spends about 10 ms of CPU per resource and waits on the API servers the rest of the time, so V8's
 *   memory-saving mode is the better trade there (RSS 217 → 134 MiB with 400 resources, 8 → 11 ms per resource);
 *   for the server the same mode costs half again the CPU per request.
 * - glibc raises its mmap threshold after the first large free, so every libuv thread that ran a 16 MiB scrypt keeps
 *   those 16 MiB in its arena for good; a fixed threshold (glibc's own initial 128 KiB) returns them, and two arenas
 *   bound the rest.
 * Anything the user set wins. Other commands are short-lived and start as they are.
 */
const V8_FLAGS = {
  serve: ['--max-semi-space-size=16', '--expose-gc'],
  operator: ['--optimize-for-size'],
};

function tuned(env, execArgv) {
  const v8Flags = V8_FLAGS[args[0]];
  if (!v8Flags || env.GATEHOUSE_RUNTIME_TUNED) return undefined;
  const given = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`;
  const flags = v8Flags.filter((flag) => !given.includes(flag.split('=')[0]));
  return {
    flags,
    env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', ...env, GATEHOUSE_RUNTIME_TUNED: '1' },
  };
}

if (major < REQUIRED_MAJOR) {
  // A checkout carries its own Node 24 (the `node` devDependency), so `node bin/gatehouse.js` started by an older
  // system Node hands over to it instead of failing on the first modern API.
  const ownNode = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(ownNode)) {
    console.error(
      `gatehouse: Node.js ${REQUIRED_MAJOR} or newer is required (this is ${process.version}); run \`npm ci\` in the checkout to install its own, or install Node.js ${REQUIRED_MAJOR}`,
    );
    process.exit(1);
  }
  const tuning = tuned(process.env, []);
  const child = spawn(ownNode, [...(tuning?.flags ?? []), script, ...args], { stdio: 'inherit', env: tuning?.env ?? process.env });
  // Signals sent to this pid (a supervisor's SIGTERM) reach the server; Ctrl-C reaches both through the process group.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, so a shell or supervisor sees what the server saw.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
} else {
  const tuning = process.platform === 'linux' && typeof process.execve === 'function' ? tuned(process.env, process.execArgv) : undefined;
  // execve replaces this process (same pid, so supervisors and signals are unaffected): the settings must be in place
  // before V8 and the allocator start.
  if (tuning) process.execve(process.execPath, [process.execPath, ...process.execArgv, ...tuning.flags, script, ...args], tuning.env);
  const compiled = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
  if (!existsSync(compiled)) {
    console.error('gatehouse: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  await import(compiled);
}
