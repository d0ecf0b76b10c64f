import type { LoadResult } from './load.js';
import { heapOf, memoryOf } from './operator-probes.js';
import { GatehouseClient } from '../src/sdk/index.js';
import type { Gatehouse, RunningServer } from './servers.js';
import type { Scenario } from './scenarios.js';

export interface Row {
  scenario: Scenario;
  result: LoadResult;
  /** CPU the answering server used while measured; undefined where /proc is not available. */
  serverCpuSeconds: number | undefined;
  /** Failures seen while warming up count too: an error is an error whenever it happened. */
  warmupFailures: number;
  warmupDetail: string;
}

export interface Baseline {
  requestsPerSecond: number;
  /** Relative difference between the bare runs before and after: how much the machine's load moved. */
  drift: number;
}

export function flagged(row: Row): string | undefined {
  const parts = [row.result.failures && `${row.result.failureDetail}`, row.warmupFailures && `warm-up: ${row.warmupDetail}`].filter(Boolean);
  return parts.length ? parts.join('; ') : undefined;
}

/**
 * The bare server is measured first and last and the mean is the denominator, so a background job that starts or
 * stops during the run shows up as drift instead of silently skewing every ratio.
 */
export function baselineOf(rows: Row[]): Baseline {
  const bare = rows.filter((row) => row.scenario.key === 'bare').map((row) => row.result.requestsPerSecond);
  if (!bare.length) throw new Error('no bare-server measurement to compare with');
  const mean = bare.reduce((a, b) => a + b, 0) / bare.length;
  return { requestsPerSecond: mean, drift: mean ? (Math.max(...bare) - Math.min(...bare)) / mean : 0 };
}

/** Whole milliseconds as the tables show them; `<1` below one. */
export const ms = (value: number) => (value < 1 ? '<1' : String(value));
const pct = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;
const rps = (value: number) => Math.round(value).toLocaleString('en-US');

/**
 * Server CPU per request is the contention-proof figure: requests/s drops when another job takes a core, CPU per
 * request does not. CPU share above 100 % is libuv and GC threads working beside the event loop.
 */
function cpuColumns(row: Row, durationSeconds: number): string {
  if (row.serverCpuSeconds === undefined || !row.result.total) return '– | –';
  const perRequestUs = (row.serverCpuSeconds / row.result.total) * 1e6;
  return `${perRequestUs.toFixed(perRequestUs < 100 ? 1 : 0)} | ${Math.round((row.serverCpuSeconds / durationSeconds) * 100)} %`;
}

export function renderTable(rows: Row[], baseline: Baseline, durationSeconds: number): string {
  const lines = [
    '| Scenario | Requests/s | p50 (ms) | p99 (ms) | vs bare | Target | Result | Server CPU µs/req | Server CPU |',
    '|---|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const row of rows) {
    const ratio = baseline.requestsPerSecond ? row.result.requestsPerSecond / baseline.requestsPerSecond : 0;
    const { target, minRequestsPerSecond } = row.scenario;
    const errors = flagged(row);
    // A share of the bare server's figure, or an absolute rate (creations/s): both must hold where both are set.
    const checks: { label: string; ok: boolean }[] = [];
    if (target !== undefined) checks.push({ label: `≥ ${pct(target)}`, ok: ratio >= target });
    if (minRequestsPerSecond !== undefined)
      checks.push({ label: `≥ ${rps(minRequestsPerSecond)}/s`, ok: row.result.requestsPerSecond >= minRequestsPerSecond });
    let result = !checks.length ? '' : checks.every((check) => check.ok) ? 'pass' : 'below target';
    if (errors) result = `**ERRORS: ${errors}**`;
    lines.push(
      `| ${row.scenario.title} | ${rps(row.result.requestsPerSecond)} | ${ms(row.result.p50Ms)} | ${ms(row.result.p99Ms)} | ${pct(ratio)} | ${checks.map((check) => check.label).join(', ')} | ${result} | ${cpuColumns(row, durationSeconds)} |`,
    );
  }
  return lines.join('\n');
}

export interface RunInfo {
  date: string;
  commit: string;
  node: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
}

/** What one history line needs; kept as JSON in the docs so the next run can fold the current one into history. */
export interface RunSummary {
  date: string;
  commit: string;
  durationSeconds: number;
  connections: number;
  loadAverage: number;
  bare: number;
  token?: { rps: number; ratio: number };
  introspect?: { rps: number; ratio: number };
  /**
   * The server's memory once every read scenario has run (before the creation scenarios grow the database; in runs
   * recorded before those existed, after every scenario); absent in runs recorded before it was measured.
   */
  memory?: ServerMemory;
  /** Clients created per second, by who chose the secret; absent in runs recorded before they were measured. */
  createMinted?: number;
  createChosen?: number;
  /** The server once the creation scenarios have run, when they did. */
  afterCreation?: CreationAftermath;
}

/** How much the creation scenarios grew the server: clients in its database, and its memory then. */
export interface CreationAftermath {
  clients: number;
  memory?: ServerMemory;
}

/** Where the server's resident memory sits after the load: V8's heap, memory V8 tracks outside it, and the rest. */
export interface ServerMemory {
  rssMiB: number;
  peakMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** Pages backed by files: the node binary's code and ICU data, shared libraries. */
  fileMiB?: number;
}

export const RSS_TARGET_MIB = 120;

/** Read while the server is still up: RSS from /proc, the heap split from its own default Node metrics. */
export async function serverMemoryOf(server: RunningServer): Promise<ServerMemory | undefined> {
  const resident = memoryOf(server.pid);
  if (!resident) return undefined;
  const response = await fetch(`${server.url}/metrics`);
  const heap = heapOf(await response.text());
  const round = (mib: number) => Math.round(mib * 10) / 10;
  return {
    rssMiB: round(resident.rssMiB),
    peakMiB: round(resident.peakMiB),
    heapUsedMiB: round(heap.heapUsedMiB),
    heapTotalMiB: round(heap.heapTotalMiB),
    externalMiB: round(heap.externalMiB),
    ...(Number.isFinite(resident.fileMiB) && { fileMiB: round(resident.fileMiB) }),
  };
}

export async function creationAftermath(server: Gatehouse): Promise<CreationAftermath> {
  const sdk = new GatehouseClient({ endpoint: server.url, clientId: server.rootId, clientSecret: server.rootSecret, scope: 'hydra.*' });
  try {
    const { total } = await sdk.listClients({ limit: 1 });
    const memory = await serverMemoryOf(server);
    return { clients: total, ...(memory && { memory }) };
  } finally {
    await sdk.close();
  }
}

export function describeCreation(after: CreationAftermath): string {
  const memory = after.memory;
  // No verdict: the RSS target is about the server after the read scenarios, not with thousands more clients.
  const figures = memory
    ? `, RSS ${memory.rssMiB.toFixed(0)} MiB (peak ${memory.peakMiB.toFixed(0)} MiB; V8 heap ${memory.heapTotalMiB.toFixed(0)} MiB reserved, ${memory.heapUsedMiB.toFixed(0)} MiB in use)`
    : '';
  return `${after.clients.toLocaleString('en-US')} clients in the database${figures}`;
}

export function describeMemory(memory: ServerMemory): string {
  // What V8 does not account for: the binary's code and data pages (file-backed) and the native heap (SQLite's page
  // cache, OpenSSL, thread stacks, allocator slack).
  const files = memory.fileMiB ?? 0;
  const native = memory.rssMiB - memory.heapTotalMiB - memory.externalMiB - files;
  const verdict = memory.rssMiB <= RSS_TARGET_MIB ? 'pass' : 'above target';
  return (
    `RSS ${memory.rssMiB.toFixed(0)} MiB (target ≤ ${RSS_TARGET_MIB} MiB: ${verdict}; peak ${memory.peakMiB.toFixed(0)} MiB) = ` +
    `V8 heap ${memory.heapTotalMiB.toFixed(0)} MiB reserved (${memory.heapUsedMiB.toFixed(0)} MiB in use) + external ${memory.externalMiB.toFixed(0)} MiB + ` +
    (memory.fileMiB === undefined
      ? `native and code ${native.toFixed(0)} MiB`
      : `code and mapped files ${files.toFixed(0)} MiB + native heap ${native.toFixed(0)} MiB`)
  );
}

export function summarize(info: RunInfo, rows: Row[], baseline: Baseline, memory?: ServerMemory, afterCreation?: CreationAftermath): RunSummary {
  const pick = (key: string) => {
    const row = rows.find((r) => r.scenario.key === key);
    return row && { rps: Math.round(row.result.requestsPerSecond), ratio: Number((row.result.requestsPerSecond / baseline.requestsPerSecond).toFixed(4)) };
  };
  return {
    date: info.date,
    commit: info.commit,
    durationSeconds: info.durationSeconds,
    connections: info.connections,
    loadAverage: info.loadAverage,
    bare: Math.round(baseline.requestsPerSecond),
    token: pick('token'),
    introspect: pick('introspect'),
    ...(memory && { memory }),
    createMinted: pick('create-minted')?.rps,
    createChosen: pick('create-chosen')?.rps,
    ...(afterCreation && { afterCreation }),
  };
}

export function historyLine(run: RunSummary): string {
  const part = (name: string, figures?: { rps: number; ratio: number }) =>
    figures ? `${name} ${rps(figures.rps)} req/s (${pct(figures.ratio)})` : `${name} —`;
  return [
    `- ${run.date} · \`${run.commit}\` · ${run.durationSeconds} s × ${run.connections} connections · load ${run.loadAverage.toFixed(2)}`,
    `bare ${rps(run.bare)} req/s`,
    part('token', run.token),
    part('introspect', run.introspect),
    ...(run.memory ? [`RSS ${run.memory.rssMiB.toFixed(0)} MiB`] : []),
    ...(run.createMinted !== undefined ? [`create (minted) ${rps(run.createMinted)}/s`] : []),
    ...(run.createChosen !== undefined ? [`create (chosen, scrypt) ${rps(run.createChosen)}/s`] : []),
  ].join(' · ');
}

export function machineLine(info: RunInfo): string {
  return `${info.cpu} · ${info.cores} CPUs (nproc) · ${info.memoryGiB.toFixed(1)} GiB RAM · Node ${info.node}`;
}
