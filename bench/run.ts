import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build.js';
import { Children } from './children.js';
import { cpuSecondsOf, untilIdle } from './cpu.js';
import { writeServerSection } from './docs.js';
import { OperatorBenchmark } from './operator.js';
import { OPERATOR_HELP, readOperatorSettings, splitOnly, type OperatorSettings } from './operator-settings.js';
import { runLoad } from './load.js';
import {
  baselineOf,
  creationAftermath,
  describeCreation,
  describeMemory,
  flagged,
  renderTable,
  serverMemoryOf,
  summarize,
  type Row,
  type RunInfo,
  type ServerMemory,
} from './report.js';
import { bareScenario, gatehouseScenarios, MACHINE_CLIENT_ID, type Scenario } from './scenarios.js';
import { describeFlood, measureAuthFlood, writeFloodSection, type FloodRun } from './auth-flood.js';
import { flowFailures, measureFlows, writeFlowsSection, type FlowScenarioRun } from './flows.js';
import { startBareServer, startGatehouse, type Gatehouse } from './servers.js';
import { HELP, readSettings, type Settings } from './settings.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function runInfo(settings: Settings, loadAverage: number): RunInfo {
  // A figure measured on uncommitted server code must not be credited to the commit it started from.
  const dirty = git('status', '--porcelain', '--', 'src') ? '+dirty' : '';
  return {
    date: new Date().toISOString(),
    commit: `${git('rev-parse', '--short', 'HEAD') || 'unknown'}${dirty}`,
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    loadAverage,
    durationSeconds: settings.durationSeconds,
    warmupSeconds: settings.warmupSeconds,
    connections: settings.connections,
  };
}

async function measure(children: Children, scenario: Scenario, settings: Settings): Promise<Row> {
  const load = { connections: settings.connections };
  process.stdout.write(`  ${scenario.title}: `);
  let warmup = { failures: 0, failureDetail: '' };
  if (settings.warmupSeconds > 0) warmup = await runLoad(children, scenario.spec, { ...load, durationSeconds: settings.warmupSeconds });
  await untilIdle(scenario.serverPid);
  const cpuBefore = cpuSecondsOf(scenario.serverPid);
  const result = await runLoad(children, scenario.spec, { ...load, durationSeconds: settings.durationSeconds });
  const cpuAfter = cpuSecondsOf(scenario.serverPid);
  // Requests still being answered belong to no scenario; the next one starts on an idle server.
  await untilIdle(scenario.serverPid);
  const serverCpuSeconds = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  const row = { scenario, result, serverCpuSeconds, warmupFailures: warmup.failures, warmupDetail: warmup.failureDetail };
  const errors = flagged(row);
  const cpu = serverCpuSeconds === undefined ? '' : `, server CPU ${Math.round((serverCpuSeconds / settings.durationSeconds) * 100)} %`;
  console.log(`${Math.round(result.requestsPerSecond)} req/s${cpu}${errors ? `  ERRORS: ${errors}` : ''}`);
  return row;
}

/**
 * The server's memory once it has been idle for a few seconds after the load: the server gives back what the load
 * made V8 grow after IDLE_GC_AFTER (1 s) without requests, so a reading taken the moment autocannon stops would
 * measure the load, not the server. The peak is reported beside it.
 */
const SETTLE_MS = 3000;
async function settledMemoryOf(server: Gatehouse) {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return serverMemoryOf(server);
}

async function main(settings: Settings, children: Children, dataDir: string): Promise<number> {
  // Sampled before anything starts: afterwards the load average mostly measures this benchmark.
  const loadAverage = os.loadavg()[0] ?? 0;
  ensureBuilt(root);
  if (settings.profileDir) mkdirSync(settings.profileDir, { recursive: true });

  const [bare, gatehouse] = await Promise.all([
    startBareServer(children, root),
    startGatehouse(children, root, {
      dataDir,
      logLevel: settings.logLevel,
      nodeFlags: settings.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`] : [],
    }),
  ]);
  const scenarios = await gatehouseScenarios(gatehouse);
  const served = scenarios.filter((s) => !settings.only || settings.only.includes(s.key));
  const info = runInfo(settings, loadAverage);
  console.log(`\n${info.cpu}, ${info.cores} CPUs, load average ${loadAverage.toFixed(2)} before the run`);
  console.log(`${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s per scenario\n`);

  const rows: Row[] = [];
  // The recorded memory is read after the read scenarios and before the creation ones, which grow the database by
  // thousands of clients; so it stays comparable with runs recorded before those existed.
  let memory: ServerMemory | undefined;
  let memoryRead = false;
  // Bare first and last, so a change in background load during the run is visible (see baselineOf).
  for (const scenario of [bareScenario(bare, 'first'), ...served, bareScenario(bare, 'last')]) {
    if (scenario.createsClients && !memoryRead) [memory, memoryRead] = [await settledMemoryOf(gatehouse), true];
    rows.push(await measure(children, scenario, settings));
  }
  const afterCreation = memoryRead ? await creationAftermath(gatehouse) : undefined;
  if (!memoryRead) memory = await settledMemoryOf(gatehouse);
  let flows: FlowScenarioRun[] = [];
  const bareFirst = rows.find((row) => row.scenario.key === 'bare')!.result.requestsPerSecond;
  if (!settings.only || settings.only.includes('flows')) flows = await measureFlows(children, gatehouse, bareFirst, settings.durationSeconds);
  // Last: it leaves the limiter's buckets empty, which no scenario above should meet.
  let flood: FloodRun | undefined;
  if (!settings.only || settings.only.includes('auth-flood')) {
    const token = scenarios.find((s) => s.key === 'token')!;
    process.stdout.write('  legitimate tokens during a flood of wrong secrets: ');
    const measured = await measureAuthFlood(children, gatehouse, token.spec, MACHINE_CLIENT_ID, settings.durationSeconds);
    console.log(describeFlood(measured.run));
    flood = { date: info.date, commit: info.commit, ...measured.run };
  }
  await children.stopAll();
  if (memory) console.log(`gatehouse serve after the ${memoryRead ? 'read scenarios' : 'load'}: ${describeMemory(memory)}`);
  if (afterCreation) console.log(`gatehouse serve after the creation scenarios: ${describeCreation(afterCreation)}`);

  const baseline = baselineOf(rows);
  const table = renderTable(rows, baseline, settings.durationSeconds);
  console.log(`\n${table}\n`);
  if (baseline.drift > 0.15)
    console.log(`warning: the bare server's figure moved ${(baseline.drift * 100).toFixed(0)} % during the run; the machine's load changed`);
  if (loadAverage >= 0.5) console.log(`warning: load average ${loadAverage.toFixed(2)} before the run; other work was competing for the CPUs`);

  const failing = rows.filter((row) => flagged(row));
  if (flood?.legitimateFailures) {
    console.error(`\n${flood.legitimateFailures} legitimate token request(s) failed during the flood; docs/benchmarks.md was not updated.`);
    return 1;
  }
  if (flowFailures(flows).length) {
    console.error(`\n${flowFailures(flows).length} browser-flow scenario(s) had errors; docs/benchmarks.md was not updated.`);
    return 1;
  }
  if (failing.length) {
    console.error(`\n${failing.length} scenario(s) had errors (see the Result column); docs/benchmarks.md was not updated.`);
    return 1;
  }
  if (settings.writeDocs) {
    writeServerSection(join(root, 'docs/benchmarks.md'), info, table, baseline, summarize(info, rows, baseline, memory, afterCreation));
    if (flood) writeFloodSection(join(root, 'docs/benchmarks.md'), info, flood);
    if (flows.length)
      writeFlowsSection(join(root, 'docs/benchmarks.md'), info, {
        date: info.date,
        commit: info.commit,
        durationSeconds: settings.durationSeconds,
        bareRequestsPerSecond: Math.round(bareFirst),
        scenarios: flows,
      });
    console.log('Wrote docs/benchmarks.md (server section).');
  } else {
    console.log(
      settings.nonStandard
        ? 'Non-standard run (BENCH_ONLY, BENCH_LOG_LEVEL or BENCH_PROFILE): docs/benchmarks.md left alone.'
        : 'BENCH_WRITE=0: docs/benchmarks.md left alone.',
    );
  }
  if (settings.profileDir)
    console.log(`CPU profile of the server in ${settings.profileDir} (summarize: node --import tsx bench/profile.ts ${settings.profileDir})`);
  return 0;
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`${HELP}\n${OPERATOR_HELP}`);
} else {
  let settings: Settings;
  let operatorSettings: OperatorSettings;
  // "operator" in BENCH_ONLY selects the operator benchmark; the server part sees only its own scenario keys.
  const selection = splitOnly(process.env.BENCH_ONLY);
  if (selection.serverOnly !== undefined) process.env.BENCH_ONLY = selection.serverOnly;
  try {
    settings = readSettings();
    operatorSettings = readOperatorSettings();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  const children = new Children();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'gatehouse-bench-'));
  let finishing = false;
  const finish = async (code: number, error?: unknown) => {
    if (finishing) return;
    finishing = true;
    if (error) console.error(`\nbench: ${error instanceof Error ? error.message : String(error)}`);
    await children.stopAll();
    await operator?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(code);
  };
  children.whenOneDies((error) => void finish(1, error));
  const operator = selection.operator ? new OperatorBenchmark(root, operatorSettings, (error) => void finish(1, error)) : undefined;
  // `on`, not `once`: the control plane's own signal hook stands back only while another listener exists, and a
  // second signal while stopping exits at once (the exit hooks still kill every child).
  process.on('SIGINT', () => (finishing ? process.exit(130) : void finish(130, new Error('interrupted; stopping every process the benchmark started'))));
  process.on('SIGTERM', () => (finishing ? process.exit(143) : void finish(143, new Error('terminated; stopping every process the benchmark started'))));
  (async () => {
    const serverCode = selection.server ? await main(settings, children, dataDir) : 0;
    // The server part stops its processes first, so the two never share the CPUs.
    await children.stopAll();
    const operatorCode = operator ? await operator.run() : 0;
    return serverCode || operatorCode;
  })().then(
    (code) => finish(code),
    (error: unknown) => finish(1, error),
  );
}
