// Runs an unpacked image as a container runtime would, as far as the tests need: its entrypoint, command, user,
// working directory and environment from the image configuration, as PID 1 of its own PID namespace, in a chroot
// whose root is read-only with only the given volumes and a /tmp tmpfs writable (what a pod with
// readOnlyRootFilesystem and emptyDir volumes gets). The network is the host's: tests reach it on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ImageConfig } from './oci.js';

export interface ContainerSpec {
  rootfs: string;
  config: ImageConfig;
  /** Replaces the image's Cmd, as arguments after the image name do. */
  args?: string[];
  env?: Record<string, string>;
  /** Path in the container → folder on the host, mounted read-write. */
  volumes?: Record<string, string>;
}

export interface Container {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Host PID of the container's PID 1 (the entrypoint once the setup has exec'd it). */
  pid1: () => number;
}

// Runs on the host inside fresh mount and PID namespaces; the last line becomes PID 1 in the chroot.
const SETUP = `set -eu
root="$1"; shift
mount --bind "$root" "$root"
while [ "$1" != -- ]; do mount --bind "$2" "$root$1"; shift 2; done; shift
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -o remount,bind,ro "$root"
exec "$@"`;

export function startContainer(spec: ContainerSpec): Container {
  const { config } = spec;
  const command = [...(config.Entrypoint ?? []), ...(spec.args ?? config.Cmd ?? [])];
  const env = [...(config.Env ?? []), ...Object.entries(spec.env ?? {}).map(([name, value]) => `${name}=${value}`)];
  const volumes = Object.entries(spec.volumes ?? {}).flat();
  const user = config.User ?? '0:0';
  // chroot --userspec takes numbers as they are, as the runtime does with a numeric USER.
  const inChroot = ['chroot', `--userspec=${user.includes(':') ? user : `${user}:${user}`}`, spec.rootfs];
  const run = [...inChroot, '/usr/bin/env', '-i', `--chdir=${config.WorkingDir || '/'}`, ...env, ...command];
  const child = spawn('unshare', ['--mount', '--pid', '--fork', '--', 'sh', '-c', SETUP, 'setup', spec.rootfs, ...volumes, '--', ...run], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  const pid1 = (): number => {
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ');
    if (children.length !== 1 || !children[0]) throw new Error(`unshare ${child.pid} has children [${children.join(' ')}]`);
    return Number(children[0]);
  };
  return { process: child, output: () => output, exited, pid1 };
}

/** Runs the container to its end and returns its exit code and output. */
export async function runContainer(spec: ContainerSpec): Promise<{ code: number | null; output: string }> {
  const container = startContainer(spec);
  const code = await container.exited;
  return { code, output: container.output() };
}

/** Stops a container like the kubelet: SIGTERM to PID 1, SIGKILL after graceMs. Resolves with its exit code. */
export async function stopContainer(container: Container, graceMs = 10_000): Promise<number | null> {
  if (container.process.exitCode !== null || container.process.signalCode !== null) return container.exited;
  const pid = container.pid1();
  process.kill(pid, 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, graceMs);
  try {
    return await container.exited;
  } finally {
    clearTimeout(timer);
  }
}
