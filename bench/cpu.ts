import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc; undefined off Linux. Requests/s
 * falls when other work steals the CPUs; CPU time per request moves far less (cache and I/O contention still
 * show), so it is the better figure on a busy machine.
 */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, so indexes 11 and 12 after the name.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/**
 * Waits until the process has (nearly) stopped using CPU: autocannon stops sending when its time is up, but the
 * server still works through what it had accepted (for a slow request such as a client created with an scrypt'd
 * secret, seconds of it), and that work must not be charged to the next measurement. Returns at once off Linux.
 */
export async function untilIdle(pid: number | undefined, { intervalMs = 250, busyShare = 0.1, limitMs = 30_000 } = {}): Promise<void> {
  const deadline = Date.now() + limitMs;
  let last = cpuSecondsOf(pid);
  while (last !== undefined && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const now = cpuSecondsOf(pid);
    if (now === undefined || now - last < (busyShare * intervalMs) / 1000) return;
    last = now;
  }
}
