// Running kubectl of the envtest cache against a cluster, with a deadline and its stderr in the error.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface KubectlOptions {
  binDir: string;
  kubeconfig: string;
  timeoutMs?: number;
}

export function kubectl({ binDir, kubeconfig, timeoutMs = 60_000 }: KubectlOptions, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(join(binDir, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const why = error.killed ? `no answer within ${timeoutMs / 1000} s` : stderr.trim() || error.message;
      reject(new Error(`kubectl ${args.join(' ')} failed: ${why}`));
    });
  });
}
