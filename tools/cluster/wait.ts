// Waiting for a cluster-level condition that depends on several components (a node Ready, CoreDNS serving): fails
// fast when one of them exits, and on timeout names what did not come up, with the state and the logs that explain it.
import { logTail } from '../../test/support/probes.js';
import type { ManagedProcess } from '../../test/support/processes.js';

export interface WaitOptions {
  /** What is awaited, as the error message names it: "node gatehouse-0 Ready". */
  what: string;
  check: () => Promise<boolean>;
  timeoutMs: number;
  /** Processes the condition depends on: any of them exiting fails the wait at once, and their logs end the message. */
  components: readonly ManagedProcess[];
  /** A description of the current state (conditions, pod statuses) for the timeout message. */
  diagnose?: () => Promise<string>;
  pollMs?: number;
}

function tails(components: readonly ManagedProcess[], lines: number): string {
  return components.map((proc) => `--- last lines of ${proc.logPath}:\n${logTail(proc.logPath, lines)}`).join('\n');
}

export async function waitFor({ what, check, timeoutMs, components, diagnose, pollMs = 250 }: WaitOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = components.find((proc) => !proc.isRunning());
    if (exited) {
      throw new Error(`${exited.name} exited while waiting for ${what}; last lines of ${exited.logPath}:\n${logTail(exited.logPath, 40)}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const state = diagnose ? await diagnose().catch((error: unknown) => `(could not describe the state: ${String(error)})`) : '';
      throw new Error(`${what}: not ready after ${timeoutMs / 1000} s${state ? `\n${state}` : ''}\n${tails(components, 10)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
