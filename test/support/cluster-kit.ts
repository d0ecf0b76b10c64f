// What the real-cluster tests do to the cluster: helm and kubectl with the cluster's kubeconfig, pods that run a few
// lines of Node in the Gatehouse image and report on stdout, and bounded waits that say what they waited for.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from '../e2e/helpers.js';

export { eventually };

export interface ClusterAccess {
  kubeconfigPath: string;
  /** Folder of helm and kubectl. */
  binDir: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(binary: string, args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(binary, args, { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: error && !stderr ? error.message : stderr });
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  });
}

export class ClusterKit {
  constructor(readonly access: ClusterAccess) {}

  kubectl(args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    return run(join(this.access.binDir, 'kubectl'), ['--kubeconfig', this.access.kubeconfigPath, ...args], options);
  }

  helm(args: string[], timeoutMs = 600_000): Promise<CommandResult> {
    return run(join(this.access.binDir, 'helm'), ['--kubeconfig', this.access.kubeconfigPath, ...args], { timeoutMs });
  }

  /** kubectl that must succeed: its stdout, or an error carrying its stderr. */
  async must(args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
    const result = await this.kubectl(args, options);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim() || result.stdout.trim()}`);
    return result.stdout;
  }

  async json<T = Record<string, unknown>>(args: string[]): Promise<T> {
    return JSON.parse(await this.must([...args, '-o', 'json'])) as T;
  }

  apply(manifest: object | string): Promise<string> {
    return this.must(['apply', '-f', '-'], { stdin: typeof manifest === 'string' ? manifest : JSON.stringify(manifest) });
  }

  /**
   * Runs `node -e script` in the given image as a pod that must finish: resolves with its output once it succeeded,
   * throws with its output and status when it failed or did not finish in time. The pod is deleted afterwards.
   */
  async runNode(options: {
    namespace: string;
    name: string;
    image: string;
    script: string;
    env?: { name: string; value?: string; valueFrom?: object }[];
    volumes?: object[];
    volumeMounts?: object[];
    timeoutMs?: number;
  }): Promise<string> {
    const { namespace, name } = options;
    await this.kubectl(['delete', 'pod', name, '-n', namespace, '--ignore-not-found', '--wait=true']);
    await this.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/name': name } },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'app',
            image: options.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['node', '-e', options.script],
            env: options.env ?? [],
            volumeMounts: options.volumeMounts ?? [],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          },
        ],
        volumes: options.volumes ?? [],
      },
    });
    const phase = await eventually(
      `pod ${namespace}/${name} to finish`,
      async () => {
        const pod = await this.json<{ status?: { phase?: string } }>(['get', 'pod', name, '-n', namespace]);
        return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? pod.status.phase : undefined;
      },
      options.timeoutMs ?? 120_000,
    ).catch(async (error: Error) => {
      const described = await this.kubectl(['describe', 'pod', name, '-n', namespace]);
      throw new Error(`${error.message}\n${described.stdout.slice(-3000)}`);
    });
    const logs = (await this.kubectl(['logs', name, '-n', namespace])).stdout;
    await this.kubectl(['delete', 'pod', name, '-n', namespace, '--wait=false']);
    if (phase !== 'Succeeded') throw new Error(`pod ${namespace}/${name} failed:\n${logs}`);
    return logs;
  }
}
