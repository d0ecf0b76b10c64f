// Compiles one of the wrapper modules in this folder into a binary.
import { spawn, spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { envtestDir, type EnvtestVersions } from './assets.js';

export type GoBinary = 'kube-apiserver' | 'etcd' | 'kstatus';

export function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

function hasNice(): boolean {
  return spawnSync('nice', ['true'], { stdio: 'ignore' }).status === 0;
}

// Without these, kube-apiserver reports v0.0.0-master, and helm refuses charts whose kubeVersion
// constraint is checked against the server version.
export function kubernetesVersionLdflags(kubernetesVersion: string): string[] {
  const [major, minor] = kubernetesVersion.replace(/^v/, '').split('.');
  const pkg = 'k8s.io/component-base/version';
  return [`-X ${pkg}.gitVersion=${kubernetesVersion}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitTreeState=clean`];
}

function versionLdflags(binary: GoBinary, versions: EnvtestVersions): string[] {
  return binary === 'kube-apiserver' ? kubernetesVersionLdflags(versions.kubernetes) : [];
}

export interface BuildOptions {
  binary: GoBinary;
  versions: EnvtestVersions;
  outPath: string;
  /** Extra environment, e.g. a throw-away GOCACHE to measure a cold build. */
  env?: NodeJS.ProcessEnv;
}

export async function goBuild({ binary, versions, outPath, env }: BuildOptions): Promise<void> {
  await goBuildModule({ name: binary, moduleDir: join(envtestDir, binary), ldflags: versionLdflags(binary, versions), outPath, env });
}

export interface ModuleBuildOptions {
  /** Names the build in messages. */
  name: string;
  /** Folder of the wrapper module (its go.mod and main package). */
  moduleDir: string;
  /** -X settings and the like, beside -s -w. */
  ldflags?: string[];
  outPath: string;
  /** Extra environment, e.g. a throw-away GOCACHE, or CGO_ENABLED=1 for a module that needs cgo. */
  env?: NodeJS.ProcessEnv;
}

/** Builds the main package of any wrapper module (tools/envtest/*, tools/cluster/*) the same way. */
export async function goBuildModule({ name, moduleDir, ldflags = [], outPath, env }: ModuleBuildOptions): Promise<void> {
  // Machines here have two cores shared with other work; GATEHOUSE_GO_BUILD_JOBS lifts the cap.
  const jobs = process.env.GATEHOUSE_GO_BUILD_JOBS || '2';
  const allLdflags = ['-s', '-w', ...ldflags].join(' ');
  const partial = `${outPath}.partial-${process.pid}`;
  const goArgs = ['build', '-p', jobs, '-trimpath', '-buildvcs=false', '-ldflags', allLdflags, '-o', partial, '.'];
  const [command, args] = hasNice() ? ['nice', ['-n', '10', 'go', ...goArgs]] : ['go', goArgs];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: moduleDir,
      // Static binaries need no C toolchain and run on any Linux of the same architecture.
      env: { ...process.env, CGO_ENABLED: '0', ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`go build of ${name} failed (exit ${code})`);
  }
  // Renaming last means an interrupted build never leaves a binary that looks complete.
  renameSync(partial, outPath);
}
