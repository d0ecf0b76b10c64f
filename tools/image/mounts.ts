import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Mount points at or below dir, deepest first. */
function mountsUnder(dir: string): string[] {
  const root = resolve(dir);
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((point): point is string => !!point && (point === root || point.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything mounted at or below dir, so that it can be deleted without reaching into /proc or /dev. */
export function unmountUnder(dir: string): void {
  for (const point of mountsUnder(dir)) {
    const result = spawnSync('umount', ['--lazy', point], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`umount ${point}: ${result.stderr.trim()}`);
  }
}
