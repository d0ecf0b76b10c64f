// Compiles one of the wrapper modules in this folder into a binary.
import { spawn, spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { envtestDir, type EnvtestVersions } from './assets.js';

export type GoBinary = 'kube-apiserver' | 'etcd';

export function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

function hasNice(): boolean {
  return spawnSync('nice', ['true'], { stdio: 'ignore' }).status === 0;
}

// Without these, kube-apiserver reports v0.0.0-master, and helm refuses charts whose kubeVersion
// constraint is checked against the server version.
function versionLdflags(binary: GoBinary, versions: EnvtestVersions): string[] {
  if (binary !== 'kube-apiserver') return [];
  const [major, minor] = versions.kubernetes.replace(/^v/, '').split('.');
  const pkg = 'k8s.io/component-base/version';
  return [`-X ${pkg}.gitVersion=${versions.kubernetes}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitTreeState=clean`];
}

export interface BuildOptions {
  binary: GoBinary;
  versions: EnvtestVersions;
  outPath: string;
  /** Extra environment, e.g. a throw-away GOCACHE to measure a cold build. */
  env?: NodeJS.ProcessEnv;
}

export async function goBuild({ binary, versions, outPath, env }: BuildOptions): Promise<void> {
  // Machines here have two cores shared with other work; GATEHOUSE_GO_BUILD_JOBS lifts the cap.
  const jobs = process.env.GATEHOUSE_GO_BUILD_JOBS || '2';
  const ldflags = ['-s', '-w', ...versionLdflags(binary, versions)].join(' ');
  const partial = `${outPath}.partial-${process.pid}`;
  const goArgs = ['build', '-p', jobs, '-trimpath', '-buildvcs=false', '-ldflags', ldflags, '-o', partial, '.'];
  const [command, args] = hasNice() ? ['nice', ['-n', '10', 'go', ...goArgs]] : ['go', goArgs];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: join(envtestDir, binary),
      // Static binaries need no C toolchain and run on any Linux of the same architecture.
      env: { ...process.env, CGO_ENABLED: '0', ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`go build of ${binary} failed (exit ${code})`);
  }
  // Renaming last means an interrupted build never leaves a binary that looks complete.
  renameSync(partial, outPath);
}
