import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time of any file below `dir` (0 when it does not exist). */
function newestMtime(dir: string): number {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The server runs from dist/, exactly as `gatehouse serve` does in production (no tsx in the measured process), so
 * a stale build would measure old code. tsc rewrites every output, so the CLI entry's time stands for the build's.
 */
export function ensureBuilt(root: string): void {
  const built = mtimeOf(join(root, 'dist/cli/bin.js'));
  const sources = Math.max(newestMtime(join(root, 'src')), mtimeOf(join(root, 'tsconfig.json')), mtimeOf(join(root, 'tsconfig.build.json')));
  if (built && built >= sources) return;
  console.log(built ? 'dist/ is older than src/; running npm run build' : 'dist/ is missing; running npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    // tsc writes its output even when type-checking fails; back-date it so the next run tries again instead of
    // measuring code that did not compile cleanly.
    try {
      utimesSync(join(root, 'dist/cli/bin.js'), 0, 0);
    } catch {
      // nothing was emitted, so there is nothing to mistake for a good build
    }
    throw new Error(`npm run build failed (${result.error?.message ?? `exit code ${result.status}`}); fix the errors above and run again`);
  }
}
