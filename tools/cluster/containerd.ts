// containerd of one cluster run: its own config, root, state and socket under the run folder (no systemd here, and
// nothing shared with another run), plus the `ctr` calls the cluster makes against it.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CNI_BIN_DIR } from './prerequisites.js';

const execFileAsync = promisify(execFile);

/** The namespace the kubelet's CRI calls use; images imported elsewhere are invisible to pods. */
export const K8S_NAMESPACE = 'k8s.io';
const CTR_TIMEOUT_MS = 120_000;

export interface ContainerdLayout {
  /** containerd's own folder inside the run folder. */
  dir: string;
  socket: string;
  config: string;
}

export function containerdLayout(runDir: string): ContainerdLayout {
  const dir = join(runDir, 'containerd');
  return { dir, socket: join(dir, 'containerd.sock'), config: join(dir, 'config.toml') };
}

export function writeContainerdConfig(layout: ContainerdLayout, o: { sandboxImage: string; cniConfDir: string }): void {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const toml = `version = 2
root = "${layout.dir}/root"
state = "${layout.dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${layout.socket}"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${layout.dir}/opt"

[${cri}]
  sandbox_image = "${o.sandboxImage}"
  # The VM's root lacks CAP_SYS_RESOURCE, so runc may not lower a sandbox's oom_score_adj below its own.
  restrict_oom_score_adj = true
  # Pod network namespaces under the run folder, where teardown finds and unmounts them.
  netns_mounts_under_state_dir = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "${layout.dir}/runc"

[${cri}.cni]
  bin_dir = "${CNI_BIN_DIR}"
  conf_dir = "${o.cniConfDir}"
  max_conf_num = 1
`;
  writeFileSync(layout.config, toml);
}

export async function ctr(socket: string, args: readonly string[], timeoutMs = CTR_TIMEOUT_MS): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ctr', ['--address', socket, '--namespace', K8S_NAMESPACE, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const err = error as { stderr?: string; killed?: boolean; message: string };
    const why = err.killed ? `no answer within ${timeoutMs / 1000} s` : err.stderr?.trim() || err.message;
    throw new Error(`ctr ${args.join(' ')} failed: ${why}`);
  }
}

// `ctr images import` stages every archive under one lease name (tar-index.json), so two imports at once into one
// containerd fail with "ref … locked". Imports from this process queue per socket; another process's import at the
// same moment is retried.
const importQueues = new Map<string, Promise<unknown>>();
const IMPORT_ATTEMPTS = 5;

/** Imports an OCI (or docker) image archive where the kubelet sees it. */
export function importImage(socket: string, archive: string): Promise<void> {
  if (!existsSync(archive)) return Promise.reject(new Error(`image archive ${archive} does not exist`));
  const run = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await ctr(socket, ['images', 'import', archive]);
        return;
      } catch (error) {
        if (attempt >= IMPORT_ATTEMPTS || !/locked/.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  };
  const queued = (importQueues.get(socket) ?? Promise.resolve()).then(run, run);
  importQueues.set(socket, queued);
  return queued;
}

export async function isContainerdServing(socket: string): Promise<boolean> {
  try {
    await ctr(socket, ['version'], 5_000);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills and deletes every task (container process) of the k8s.io namespace, so that the shims exit and remove their
 * sockets. One call per task: a single call stops at the first task that has already exited.
 */
export async function deleteAllTasks(socket: string, timeoutMs: number): Promise<void> {
  const ids = (await ctr(socket, ['tasks', 'ls', '--quiet'], timeoutMs)).split('\n').filter(Boolean);
  await Promise.allSettled(ids.map((id) => ctr(socket, ['tasks', 'delete', '--force', id], timeoutMs)));
}

/** IDs of the pod sandboxes containerd's CRI plugin knows, read from its folder (also once containerd is gone). */
export function sandboxIds(layout: ContainerdLayout): string[] {
  const dir = join(layout.dir, 'root', 'io.containerd.grpc.v1.cri', 'sandboxes');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Pids of the containerd shims serving this containerd: they leave containerd's process group on purpose. */
export function shimsOf(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv[0]?.includes('containerd-shim') && argv.includes(socket)) pids.push(Number(entry));
  }
  return pids;
}
