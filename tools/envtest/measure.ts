// Refreshes the control-plane figures in docs/benchmarks.md: they bound how fast the e2e suite can be.
//   node --import tsx tools/envtest/measure.ts               start-up time and warm setup time
//   node --import tsx tools/envtest/measure.ts --cold-build  also a full build on an empty Go build cache
// Figures not re-measured are kept from the previous run (stored in a comment inside the section).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../../test/support/control-plane.js';
import { readVersions, repoRoot } from './assets.js';
import { goBuild } from './go-build.js';

const START = '<!-- control-plane:start -->';
const END = '<!-- control-plane:end -->';
const DATA = /<!-- control-plane:data (\{.*\}) -->/;
const benchmarksPath = join(repoRoot, 'docs', 'benchmarks.md');

interface Context {
  date: string;
  commit: string;
  machine: string;
  /** Mean 1-minute load average while measuring: above the core count, other work shared the CPU. */
  load?: number;
}

type ColdBuild = Context & { etcdS: number; kubeApiserverS: number; etcd: string; kubernetes: string };

interface Figures {
  /** Newest last; several runs, because load from other work on the machine spreads them widely. */
  coldBuilds?: ColdBuild[];
  startup?: Context & { runs: Array<{ etcdS: number; apiServerS: number; totalS: number }>; warmSetupS: number };
}

// The machines are shared with other sessions' builds and tests, which can double a build time.
function sampleLoad(): () => number {
  const samples = [loadavg()[0] ?? 0];
  const timer = setInterval(() => samples.push(loadavg()[0] ?? 0), 5_000);
  return () => {
    clearInterval(timer);
    samples.push(loadavg()[0] ?? 0);
    return Math.round((samples.reduce((a, b) => a + b, 0) / samples.length) * 10) / 10;
  };
}

function context(load: number): Context {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim();
  const go = spawnSync('go', ['version'], { encoding: 'utf8' }).stdout?.trim().split(' ')[2] ?? 'no go';
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return {
    date: new Date().toISOString().slice(0, 10),
    commit: commit.status === 0 ? `${commit.stdout.trim()}${dirty ? '+dirty' : ''}` : '(no commit yet)',
    machine: `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB memory, ${go}, Node ${process.version}`,
    load,
  };
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return seconds(performance.now() - started);
}

async function measureColdBuild(): Promise<ColdBuild> {
  const versions = readVersions();
  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-cold-build-'));
  // A private GOCACHE makes every package compile again; the module cache is kept, so downloads
  // (about ten seconds here) are not part of the figure.
  const env = { GOCACHE: join(scratch, 'gocache') };
  const load = sampleLoad();
  try {
    const etcdS = await timed(() => goBuild({ binary: 'etcd', versions, outPath: join(scratch, 'etcd'), env }));
    const kubeApiserverS = await timed(() => goBuild({ binary: 'kube-apiserver', versions, outPath: join(scratch, 'kube-apiserver'), env }));
    return { ...context(load()), etcdS, kubeApiserverS, etcd: versions.etcd, kubernetes: versions.kubernetes };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function measureStartup(count: number): Promise<NonNullable<Figures['startup']>> {
  const load = sampleLoad();
  const warmSetupS = await timed(async () => {
    execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'tools', 'envtest', 'setup.ts')], {
      cwd: repoRoot,
      stdio: 'ignore',
    });
  });
  const runs: NonNullable<Figures['startup']>['runs'] = [];
  for (let i = 0; i < count; i++) {
    const controlPlane = await startControlPlane();
    const { etcdMs, apiServerMs, totalMs } = controlPlane.timings;
    runs.push({ etcdS: seconds(etcdMs), apiServerS: seconds(apiServerMs), totalS: seconds(totalMs) });
    await controlPlane.stop();
  }
  return { ...context(load()), runs, warmSetupS };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function render(figures: Figures): string {
  const lines = [START, '## Control plane for e2e tests (kube-apiserver + etcd)', ''];
  lines.push('Refresh with `node --import tsx tools/envtest/measure.ts [--cold-build]`.', '');
  const { coldBuilds = [], startup } = figures;
  const latest = coldBuilds.at(-1);
  if (latest) {
    lines.push(
      `### Building the binaries on a cold cache`,
      '',
      `${latest.machine}.`,
      'Empty Go build cache, Go modules already downloaded (about 10 s more from the module proxy), `go build -p 2`.',
      'The mean 1-minute load average shows how much other work shared the cores; the build alone keeps it near 2.',
      '',
      `| date | commit | load | etcd ${latest.etcd} | kube-apiserver ${latest.kubernetes} | total |`,
      '|---|---|---|---|---|---|',
      ...coldBuilds.map(
        (run) =>
          `| ${run.date} | ${run.commit} | ${run.load ?? '?'} | ${run.etcdS} s | ${run.kubeApiserverS} s | ${seconds((run.etcdS + run.kubeApiserverS) * 1000)} s |`,
      ),
      '',
    );
  }
  if (startup) {
    const total = startup.runs.map((run) => run.totalS);
    lines.push(
      `### Starting a control plane`,
      '',
      `${startup.date}, commit ${startup.commit}; ${startup.machine}; mean load average ${startup.load ?? '?'}.`,
      'From `startControlPlane()` until kube-apiserver answers `/readyz` 200 (certificates, etcd, kube-apiserver).',
      '',
      '| run | etcd healthy | kube-apiserver ready | total |',
      '|---|---|---|---|',
      ...startup.runs.map((run, i) => `| ${i + 1} | ${run.etcdS} s | +${run.apiServerS} s | ${run.totalS} s |`),
      `| median | | | ${median(total)} s |`,
      '',
      `\`npm run envtest:setup\` with everything cached (the cost \`pretest\` adds to \`npm test\`): ${startup.warmSetupS} s.`,
      '',
    );
  }
  lines.push(`<!-- control-plane:data ${JSON.stringify(figures)} -->`, END);
  return lines.join('\n');
}

function previousFigures(document: string): Figures {
  const match = DATA.exec(document);
  return match?.[1] ? (JSON.parse(match[1]) as Figures) : {};
}

function writeSection(document: string, section: string): string {
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start === -1 || end === -1) return `${document.trimEnd()}${document.trim() ? '\n\n' : ''}${section}\n`;
  return `${document.slice(0, start)}${section}${document.slice(end + END.length)}`;
}

const document = existsSync(benchmarksPath) ? readFileSync(benchmarksPath, 'utf8') : '';
const figures = previousFigures(document);
if (process.argv.includes('--cold-build')) {
  figures.coldBuilds = [...(figures.coldBuilds ?? []), await measureColdBuild()].slice(-5);
}
figures.startup = await measureStartup(3);
writeFileSync(benchmarksPath, writeSection(document, render(figures)));
console.log(render(figures));
