// Removing everything one cluster run made on the host: processes, mounts, the network namespace, cgroups, CNI cache
// entries and the run folder. The run's state file lists them, so a run whose owner died (Ctrl-C twice, OOM killer,
// SIGKILL) is cleaned up by the next one. The order matters: with containers still running, mounts and cgroups stay
// busy, and a namespace deleted before its pods' mounts are gone leaves them behind.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../test/support/control-plane.js';
import { cgroupLeftovers, processesInCgroup, removeCgroupRoot } from './cgroups.js';
import { containerdLayout, sandboxIds, shimsOf } from './containerd.js';
import { deleteNetworkNamespace } from './netns.js';

export const RUN_DIR_PREFIX = 'gatehouse-cluster-';
const STATE_FILE = 'state.json';
const CNI_RESULTS_DIR = '/var/lib/cni/results';

export interface RunState {
  runDir: string;
  ownerPid: number;
  netns: string;
  cgroupRoot: string;
  containerdSocket: string;
}

export function writeRunState(state: RunState): void {
  writeFileSync(join(state.runDir, STATE_FILE), JSON.stringify(state));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** SIGKILLs the given pids and waits up to timeoutMs for them to be gone; returns those still there. */
export function killAndWait(pids: readonly number[], timeoutMs = 5_000): number[] {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    sleepSync(50);
    alive = alive.filter(isAlive);
  }
  return alive;
}

// Mount points are octal-escaped in mountinfo (a space is \040).
const unescapeMountPath = (path: string): string => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`));
}

/** Lazily unmounts everything under dir, deepest first, repeating for mounts stacked on one another. */
export function unmountAll(dir: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const mounts = [...new Set(mountsUnder(dir))].sort((a, b) => b.length - a.length);
    if (mounts.length === 0) return;
    spawnSync('umount', ['--lazy', ...mounts], { stdio: 'ignore' });
  }
}

/** Processes of the run outside the components' process groups: containers (in its cgroups) and containerd shims. */
export function strayProcesses(state: RunState): number[] {
  return [...new Set([...processesInCgroup(state.cgroupRoot), ...shimsOf(state.containerdSocket)])];
}

/**
 * containerd's CNI library caches each attachment's result in /var/lib/cni/results/<network>-<sandbox>-<interface>,
 * for the pod network and for its own `cni-loopback`; a sandbox torn down by killing its tasks leaves both behind.
 */
function cniCacheEntries(sandboxIds: readonly string[]): string[] {
  if (sandboxIds.length === 0 || !existsSync(CNI_RESULTS_DIR)) return [];
  return readdirSync(CNI_RESULTS_DIR)
    .filter((name) => sandboxIds.some((id) => name.includes(`-${id}-`)))
    .map((name) => join(CNI_RESULTS_DIR, name));
}

/**
 * Everything after the components have stopped (or died): strays killed, mounts, namespace, cgroups, CNI cache and
 * folder removed. Synchronous, so that it can also run in a process exit handler. Returns what is left, one line
 * each: empty when teardown was complete.
 */
export function removeRunResources(state: RunState, options: { keepNetworkNamespace?: boolean } = {}): string[] {
  const sandboxes = sandboxIds(containerdLayout(state.runDir));
  killAndWait(strayProcesses(state));
  unmountAll(state.runDir);
  if (!options.keepNetworkNamespace) deleteNetworkNamespace(state.netns);
  // A cgroup empties a moment after its last process is reaped.
  for (let attempt = 0; attempt < 40 && removeCgroupRoot(state.cgroupRoot).length > 0; attempt++) sleepSync(50);
  for (const entry of cniCacheEntries(sandboxes)) rmSync(entry, { force: true });
  if (mountsUnder(state.runDir).length === 0) rmSync(state.runDir, { recursive: true, force: true });
  return leftovers(state, sandboxes);
}

function leftovers(state: RunState, sandboxes: readonly string[]): string[] {
  return [
    ...strayProcesses(state).map((pid) => `process ${pid}: ${readCmdline(pid)}`),
    ...mountsUnder(state.runDir).map((mount) => `mount ${mount}`),
    ...(existsSync(`/run/netns/${state.netns}`) ? [`network namespace ${state.netns}`] : []),
    ...cgroupLeftovers(state.cgroupRoot).map((dir) => `cgroup ${dir}`),
    ...cniCacheEntries(sandboxes).map((entry) => `CNI cache entry ${entry}`),
    ...(existsSync(state.runDir) ? [`folder ${state.runDir}`] : []),
  ];
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '(gone)';
  }
}

/** Cleans up runs whose owning process is gone; their components' watchdogs have already killed the components. */
export function removeAbandonedRuns(log: (line: string) => void): void {
  const runs: RunState[] = [];
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(RUN_DIR_PREFIX)) continue;
    try {
      runs.push(JSON.parse(readFileSync(join(tmpdir(), entry, STATE_FILE), 'utf8')) as RunState);
    } catch {
      continue;
    }
  }
  const alive = (state: RunState) => state.ownerPid > 0 && isAlive(state.ownerPid);
  // Namespace names are reused once free: a dead run's stale record may name the namespace a live run owns now.
  const liveNamespaces = new Set(runs.filter(alive).map((state) => state.netns));
  for (const state of runs) {
    if (alive(state)) continue;
    log(`removing the remains of cluster run ${state.runDir} (owner ${state.ownerPid} is gone)`);
    const left = removeRunResources(state, { keepNetworkNamespace: liveNamespaces.has(state.netns) });
    if (left.length > 0) log(`could not remove:\n  ${left.join('\n  ')}`);
  }
}
