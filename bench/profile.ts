import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Summarizes a V8 .cpuprofile (from BENCH_PROFILE) by self time, per function and per package, so "where does a
 * token request go" can be answered in a terminal without loading the profile into DevTools.
 * Usage: node --import tsx bench/profile.ts <file.cpuprofile | directory (newest profile)> [top=25]
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function newestProfile(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const files = readdirSync(path)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(path, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!files[0]) throw new Error(`no .cpuprofile in ${path}`);
  return files[0];
}

/** Groups a frame by who owns the code: a dependency, Node itself, Gatehouse, or V8 bookkeeping. */
function areaOf(frame: ProfileNode['callFrame']): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (modules) return modules[1]!;
  if (frame.url.startsWith('node:')) return `node:${frame.url.slice(5).split('/')[0] === 'internal' ? frame.url.slice(5).split('/')[1] : frame.url.slice(5)}`;
  if (frame.url.includes('/dist/')) return `gatehouse ${frame.url.slice(frame.url.indexOf('/dist/') + 6)}`;
  if (!frame.url) return `(${frame.functionName || 'native'})`;
  return frame.url;
}

function top(map: Map<string, number>, total: number, count: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, time]) => `${((time / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
}

const target = process.argv[2];
if (!target) {
  console.error('usage: node --import tsx bench/profile.ts <file.cpuprofile | directory> [top]');
  process.exit(2);
}
const file = newestProfile(target);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const byFunction = new Map<string, number>();
const inclusiveByArea = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const delta = profile.timeDeltas[i] ?? 0;
  if (!node) return;
  // Idle is the server waiting between scenarios; shares of busy time are what compare across runs.
  if (node.callFrame.functionName === '(idle)') {
    idle += delta;
    return;
  }
  total += delta;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'}  ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
  byArea.set(areaOf(node.callFrame), (byArea.get(areaOf(node.callFrame)) ?? 0) + delta);
  // Inclusive: native work (a write, a SQLite step) is charged to every package on the stack that led to it.
  const areas = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const frame = byId.get(at)?.callFrame;
    if (frame?.url) areas.add(areaOf(frame));
  }
  for (const area of areas) inclusiveByArea.set(area, (inclusiveByArea.get(area) ?? 0) + delta);
});
const count = Number(process.argv[3] ?? 25);
console.log(`${file}: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle; shares are of busy time\n\nSelf time by area:`);
console.log(top(byArea, total, count).join('\n'));
console.log('\nInclusive time by area (a sample counts for every area on its stack):');
console.log(top(inclusiveByArea, total, count).join('\n'));
console.log('\nSelf time by function:');
console.log(top(byFunction, total, count).join('\n'));
