// The cgroup root of one cluster run: the kubelet puts every pod under it (cgroupDriver cgroupfs, cgroupRoot
// /<name>), so a run's containers can be found, killed and removed without touching anyone else's. On cgroup v1 the
// kubelet refuses a root missing from any hierarchy ("cgroup [...] has some missing paths"), so it is made in each.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_FS = '/sys/fs/cgroup';
const V1_HIERARCHIES = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'];
const V2_CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'pids', 'hugetlb'];

function isUnifiedOnly(): boolean {
  return existsSync(join(CGROUP_FS, 'cgroup.controllers'));
}

/** Every hierarchy a run's cgroups can appear in, including the v2 one of a hybrid layout, where runc also writes. */
function hierarchies(): string[] {
  if (isUnifiedOnly()) return [CGROUP_FS];
  return [...V1_HIERARCHIES, 'unified'].map((name) => join(CGROUP_FS, name)).filter((path) => existsSync(path));
}

export function createCgroupRoot(name: string): void {
  if (isUnifiedOnly()) {
    mkdir(join(CGROUP_FS, name));
    const available = readFileSync(join(CGROUP_FS, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    const enable = V2_CONTROLLERS.filter((controller) => available.includes(controller)).map((controller) => `+${controller}`);
    if (enable.length > 0) writeFileSync(join(CGROUP_FS, name, 'cgroup.subtree_control'), enable.join(' '));
    return;
  }
  for (const hierarchy of V1_HIERARCHIES) {
    const parent = join(CGROUP_FS, hierarchy);
    if (!existsSync(parent)) continue;
    mkdir(join(parent, name));
    // A new cpuset cgroup has no CPUs and no memory nodes: no process could ever run in it.
    if (hierarchy === 'cpuset') {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(parent, name, file), readFileSync(join(parent, file)));
    }
  }
}

function mkdir(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function subtree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => subtree(join(dir, entry.name)));
  return [...children, dir];
}

/** Pids of every process in the run's cgroups, in any hierarchy. */
export function processesInCgroup(name: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of hierarchies()) {
    for (const dir of subtree(join(hierarchy, name))) {
      try {
        for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
      } catch {
        // removed meanwhile
      }
    }
  }
  return [...pids];
}

/** Removes the run's cgroup directories, deepest first; returns those that could not be removed (still in use). */
export function removeCgroupRoot(name: string): string[] {
  const left: string[] = [];
  for (const hierarchy of hierarchies()) {
    for (const dir of subtree(join(hierarchy, name))) {
      try {
        rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
      }
    }
  }
  return left;
}

/** Cgroup directories of the run that still exist. */
export function cgroupLeftovers(name: string): string[] {
  return hierarchies()
    .map((hierarchy) => join(hierarchy, name))
    .filter((path) => existsSync(path));
}
