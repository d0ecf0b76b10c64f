// Tables of the operator benchmark and its section of docs/benchmarks.md (between the operator markers, with the
// runs so far in a JSON comment so the history is rebuilt from data).
import { rewriteSection } from './docs.js';
import type { CpuPhase, PhaseProfile } from './operator-probes.js';
import type { RotationRun } from './operator-rotation.js';

// The targets of the minted-secrets work: Hydra with hydra-maester did p99 93 ms at 49 MiB on the same kind of control plane.
export const TARGETS = { p99Ms: 100, allReadySeconds: 30, rssMiB: 128, restoreSeconds: 60 } as const;

export interface OperatorRun {
  date: string;
  commit: string;
  machine: string;
  cores: number;
  loadAverage: number;
  sizes: { sequential: number; burst: number; concurrency: number; idleSeconds: number; workers: number; heal: number };
  /** The operator's drift-check period (its default, DRIFT_CHECK_PERIOD unset). */
  driftCheckSeconds: number;
  sequential: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number; warmupMs: number };
  burst: {
    allReadySeconds: number;
    /** From the first create until kube-apiserver had accepted the last one. */
    appliedSeconds: number;
  };
  /** What the operator and the server did in each measured phase. */
  profiles: { sequential: PhaseProfile; burst: PhaseProfile; selfHeal: PhaseProfile };
  rss: { startMiB: number; afterSequentialMiB: number; atReadyMiB: number; peakMiB: number; afterIdleMiB: number };
  /** The operator's V8 heap when the burst was all Ready. */
  heap: { heapUsedMiB: number; heapTotalMiB: number; externalMiB: number };
  idle: {
    settleSeconds: number;
    /** Writes the operator counted (gatehouse_operator_writes_total) by target. */
    operatorKubernetes: number;
    operatorServer: number;
    /** Writes kube-apiserver counted on oauth2clients, secrets and events. */
    apiServer: number;
    /** POST/PUT/DELETE on /clients the authorization server counted. */
    serverClients: number;
    /** Any request to the authorization server, for the record (token renewals would show here). */
    serverRequests: number;
    /** The same by "METHOD route": the drift check's listing shows as GET /clients. */
    serverRoutes: Record<string, number>;
  };
  selfHeal: SelfHeal;
  /** The burst's clients rotated by one KeyPolicy (runs before KeyPolicy existed have none). */
  rotation?: RotationRun;
  cpu: CpuPhase[];
  /** CPU of one scrypt of a client secret at the server's parameters, measured in the harness after the run. */
  scryptMs: number | undefined;
}

/** Clients deleted on the server behind the operator's back, and how long until each existed again. */
export interface SelfHeal {
  deleted: number;
  /** Seconds from each deletion (its DELETE answered) until a poll found the client again, for those restored. */
  restoreSeconds: number[];
  /** The deletions were spread evenly over this long (one drift-check period), so one lands just after a check. */
  spreadSeconds: number;
  /** How long the harness waited after the last deletion before giving up. */
  timeoutSeconds: number;
  /** Clients on the server when it started: the drift check lists them 500 per page. */
  serverClients: number;
  /** The harness's own requests to the server in the phase (deletions, polls), included in its profile. */
  harnessRequests: number;
}

const num = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const duration = (ms: number) => (ms >= 10_000 ? `${num(ms / 1000, 1)} s` : `${num(ms)} ms`);
const verdict = (ok: boolean) => (ok ? 'pass' : '**fail**');

export function idleWritesOk(run: OperatorRun): { kubernetes: boolean; server: boolean } {
  return {
    kubernetes: run.idle.operatorKubernetes === 0 && run.idle.apiServer === 0,
    server: run.idle.operatorServer === 0 && run.idle.serverClients === 0,
  };
}

/** The slowest restore when every deleted client came back, else undefined. */
export function maxRestoreSeconds(heal: SelfHeal): number | undefined {
  return heal.restoreSeconds.length === heal.deleted && heal.deleted > 0 ? Math.max(...heal.restoreSeconds) : undefined;
}

export function idleRequestsPerMinute(run: OperatorRun): number {
  return (run.idle.serverRequests / run.sizes.idleSeconds) * 60;
}

function selfHealRow(run: OperatorRun): string {
  const heal = run.selfHeal;
  const max = maxRestoreSeconds(heal);
  const sorted = [...heal.restoreSeconds].sort((a, b) => a - b);
  const median = sorted.length ? ` median ${num(sorted[Math.ceil(sorted.length / 2) - 1]!, 1)} s;` : '';
  const value =
    max === undefined ? `${heal.restoreSeconds.length} of ${heal.deleted} restored ${num(heal.timeoutSeconds)} s after the last deletion` : `${num(max, 1)} s`;
  return `| ${heal.deleted} clients deleted on the server → all restored, max (deletions spread over ${num(heal.spreadSeconds)} s;${median} drift check every ${num(run.driftCheckSeconds)} s) | ${value} | ≤ ${TARGETS.restoreSeconds} s | ${verdict(max !== undefined && max <= TARGETS.restoreSeconds)} |`;
}

function idleRequestsRow(run: OperatorRun): string {
  const routes = Object.entries(run.idle.serverRoutes)
    .sort(([, a], [, b]) => b - a)
    .map(([route, n]) => `${route} ×${num(n)}`)
    .join(', ');
  const pages = Math.max(1, Math.ceil(run.selfHeal.serverClients / 500));
  return `| authorization-server requests per minute while idle (${routes || 'none'} in ${run.sizes.idleSeconds} s; drift check every ${num(run.driftCheckSeconds)} s over ${num(run.selfHeal.serverClients)} clients = ${pages} page${pages === 1 ? '' : 's'}) | ${num(idleRequestsPerMinute(run), 1)} | | |`;
}

export function renderFigures(run: OperatorRun): string {
  const { sizes } = run;
  const idle = idleWritesOk(run);
  return [
    '| Figure | Value | Target | Result |',
    '|---|---:|---:|---|',
    `| apply → Secret-ready, p50 (${sizes.sequential} sequential) | ${num(run.sequential.p50Ms)} ms | | |`,
    `| apply → Secret-ready, p99 (${sizes.sequential} sequential; max ${num(run.sequential.maxMs)} ms) | ${num(run.sequential.p99Ms)} ms | ≤ ${TARGETS.p99Ms} ms | ${verdict(run.sequential.p99Ms <= TARGETS.p99Ms)} |`,
    `| ${num(sizes.burst)} applied at once → all Ready (all applied after ${num(run.burst.appliedSeconds, 1)} s) | ${num(run.burst.allReadySeconds, 1)} s | ≤ ${TARGETS.allReadySeconds} s | ${verdict(run.burst.allReadySeconds <= TARGETS.allReadySeconds)} |`,
    `| operator RSS with ${num(sizes.burst)} Ready (peak ${num(run.rss.peakMiB)} MiB, after idle ${num(run.rss.afterIdleMiB)} MiB) | ${num(run.rss.atReadyMiB)} MiB | ≤ ${TARGETS.rssMiB} MiB | ${verdict(run.rss.atReadyMiB <= TARGETS.rssMiB)} |`,
    `| API-server writes in ${sizes.idleSeconds} idle s (operator's counter / kube-apiserver's) | ${run.idle.operatorKubernetes} / ${run.idle.apiServer} | 0 | ${verdict(idle.kubernetes)} |`,
    `| authorization-server writes in ${sizes.idleSeconds} idle s (operator's counter / server's) | ${run.idle.operatorServer} / ${run.idle.serverClients} | 0 | ${verdict(idle.server)} |`,
    idleRequestsRow(run),
    selfHealRow(run),
    ...(run.rotation
      ? [
          `| ${num(run.rotation.clients)} clients rotated by one KeyPolicy at once → all rotated (an application's token requests meanwhile: ${num(run.rotation.appRequests)}) | ${num(run.rotation.allRotatedSeconds, 1)} s, ${num(run.rotation.appFailures)} failed | 0 failed | ${verdict(run.rotation.appFailures === 0)} |`,
        ]
      : []),
  ].join('\n');
}

export const CPU_COLUMNS = [
  ['operator', 'operator'],
  ['server', 'gatehouse serve'],
  ['apiServer', 'kube-apiserver'],
  ['etcd', 'etcd'],
] as const;

/** CPU seconds per process and phase; the share is of one core, so 200 % is both cores of a 2-core machine. */
export function renderCpu(run: OperatorRun): string {
  const cell = (seconds: number | undefined, wall: number) => (seconds === undefined ? '–' : `${num(seconds, 1)} s (${num((seconds / wall) * 100)} %)`);
  const lines = [
    `| Phase | Wall | ${CPU_COLUMNS.map(([, title]) => title).join(' | ')} | harness | rest of the machine | machine busy (of ${run.cores} cores) |`,
    `|---|---:|${CPU_COLUMNS.map(() => '---:|').join('')}---:|---:|---:|`,
  ];
  for (const phase of run.cpu) {
    const ours = CPU_COLUMNS.reduce((total, [key]) => total + (phase.seconds[key] ?? 0), 0) + phase.harnessSeconds;
    const rest = phase.machineBusySeconds === undefined ? undefined : Math.max(0, phase.machineBusySeconds - ours);
    const busy =
      phase.machineBusySeconds === undefined || !phase.machineCapacitySeconds
        ? '–'
        : `${num((phase.machineBusySeconds / phase.machineCapacitySeconds) * 100)} %`;
    lines.push(
      `| ${phase.phase} | ${num(phase.wallSeconds, 1)} s | ${CPU_COLUMNS.map(([key]) => cell(phase.seconds[key], phase.wallSeconds)).join(' | ')} | ${cell(phase.harnessSeconds, phase.wallSeconds)} | ${cell(rest, phase.wallSeconds)} | ${busy} |`,
    );
  }
  const burst = run.cpu.find((phase) => phase.phase.startsWith('burst'));
  if (burst) {
    const perMs = (key: string) => (burst.seconds[key] === undefined ? undefined : (burst.seconds[key] / run.sizes.burst) * 1000);
    const per = CPU_COLUMNS.map(([key, title]) => `${title} ${perMs(key) === undefined ? '–' : num(perMs(key)!)} ms`);
    const totalMs = CPU_COLUMNS.reduce((t, [key]) => t + (perMs(key) ?? 0), 0);
    const floor = (totalMs * run.sizes.burst) / 1000 / run.cores;
    const scrypt =
      run.scryptMs === undefined || perMs('server') === undefined
        ? ''
        : ` One scrypt of a client secret costs ${num(run.scryptMs)} ms of CPU on this machine (measured by the harness after the run), so the server's share is about ${num(perMs('server')! / run.scryptMs, 1)} scrypt per resource.`;
    lines.push(
      '',
      `CPU per resource in the burst: ${per.join(' · ')} (${num(totalMs)} ms in all). With ${run.cores} cores and nothing else running, that alone takes at least ${num(floor)} s for ${num(run.sizes.burst)} resources.${scrypt}`,
    );
  }
  return lines.join('\n');
}

function profileLine(title: string, profile: PhaseProfile, resources: number): string {
  const outcomes = Object.entries(profile.reconciles)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${outcome} ${num(n)}`)
    .join(', ');
  const perResource = (Object.values(profile.reconciles).reduce((a, b) => a + b, 0) / resources).toFixed(1);
  const timing = [
    profile.reconcileMeanMs === undefined ? '' : `${duration(profile.reconcileMeanMs)} per reconcile`,
    profile.queueWaitMeanMs === undefined ? '' : `${duration(profile.queueWaitMeanMs)} queue wait`,
  ].filter(Boolean);
  const routes = Object.entries(profile.serverRoutes)
    .sort(([, a], [, b]) => b.count * b.meanMs - a.count * a.meanMs)
    .map(([route, r]) => `${route} ×${num(r.count)} (${num(r.meanMs)} ms)`)
    .join(', ');
  const writes = Object.entries(profile.operatorWrites)
    .map(([what, n]) => `${what.replace(/^kubernetes /, '')} ×${num(n)}`)
    .join(', ');
  return `- ${title}: reconciles ${outcomes || 'none'} (${perResource} per resource${timing.length ? `; mean ${timing.join(', ')}` : ''}); operator writes ${writes || 'none'}; server requests ${routes || 'none'}.`;
}

/** What the operator and the server did per phase: where the apply → Ready time goes. */
export function renderProfiles(run: OperatorRun): string {
  const m = (v: number) => `${num(v)} MiB`;
  return [
    profileLine(`${run.sizes.sequential} sequential`, run.profiles.sequential, run.sizes.sequential),
    profileLine(`burst of ${num(run.sizes.burst)}`, run.profiles.burst, run.sizes.burst),
    `${profileLine(`self-heal of ${run.selfHeal.deleted}`, run.profiles.selfHeal, run.selfHeal.deleted)} (The server requests include the harness's ${num(run.selfHeal.harnessRequests)}: its deletions and polls.)`,
    `- operator memory: RSS ${m(run.rss.startMiB)} after start, ${m(run.rss.afterSequentialMiB)} after the sequential phase, ${m(run.rss.atReadyMiB)} with the burst Ready (V8 heap ${m(run.heap.heapUsedMiB)} used of ${m(run.heap.heapTotalMiB)}, external ${m(run.heap.externalMiB)}), peak ${m(run.rss.peakMiB)}.`,
  ].join('\n');
}

const START = '<!-- operator:start -->';
const END = '<!-- operator:end -->';
const DATA = /<!-- operator-bench-data: (.*?) -->/s;
const HISTORY_LIMIT = 30;

interface RunSummary {
  date: string;
  commit: string;
  loadAverage: number;
  p50Ms: number;
  p99Ms: number;
  allReadySeconds: number;
  rssMiB: number;
  idleWrites: number;
  otherCpuShare?: number;
  /** Absent in runs recorded before they were measured; restoreMaxSeconds null when a client was not restored. */
  restoreMaxSeconds?: number | null;
  idleRequestsPerMinute?: number;
  /** Absent in runs recorded before KeyPolicy. */
  rotation?: { seconds: number; failures: number };
}

function summary(run: OperatorRun): RunSummary {
  const burst = run.cpu.find((phase) => phase.phase.startsWith('burst'));
  const rest =
    burst && burst.machineBusySeconds !== undefined
      ? burst.machineBusySeconds - CPU_COLUMNS.reduce((t, [k]) => t + (burst.seconds[k] ?? 0), 0) - burst.harnessSeconds
      : undefined;
  return {
    date: run.date,
    commit: run.commit,
    loadAverage: Number(run.loadAverage.toFixed(2)),
    p50Ms: Math.round(run.sequential.p50Ms),
    p99Ms: Math.round(run.sequential.p99Ms),
    allReadySeconds: Number(run.burst.allReadySeconds.toFixed(1)),
    rssMiB: Math.round(run.rss.atReadyMiB),
    idleWrites: run.idle.operatorKubernetes + run.idle.operatorServer + run.idle.apiServer + run.idle.serverClients,
    restoreMaxSeconds: ((max) => (max === undefined ? null : Number(max.toFixed(1))))(maxRestoreSeconds(run.selfHeal)),
    idleRequestsPerMinute: Number(idleRequestsPerMinute(run).toFixed(1)),
    ...(run.rotation ? { rotation: { seconds: Number(run.rotation.allRotatedSeconds.toFixed(1)), failures: run.rotation.appFailures } } : {}),
    ...(rest !== undefined && burst?.machineCapacitySeconds ? { otherCpuShare: Number((Math.max(0, rest) / burst.machineCapacitySeconds).toFixed(3)) } : {}),
  };
}

function historyLine(s: RunSummary): string {
  const other = s.otherCpuShare === undefined ? '' : ` · other work ${Math.round(s.otherCpuShare * 100)} % of the CPUs during the burst`;
  const heal = s.restoreMaxSeconds === undefined ? '' : ` · self-heal ${s.restoreMaxSeconds === null ? 'incomplete' : `max ${s.restoreMaxSeconds} s`}`;
  const idleRate = s.idleRequestsPerMinute === undefined ? '' : ` · idle ${s.idleRequestsPerMinute} server requests/min`;
  const rotation = s.rotation ? ` · ${s.rotation.seconds} s to rotate the burst (${s.rotation.failures} failed token requests)` : '';
  return `- ${s.date} · \`${s.commit}\` · load ${s.loadAverage.toFixed(2)} · p50 ${s.p50Ms} ms · p99 ${s.p99Ms} ms · all Ready ${s.allReadySeconds} s · RSS ${s.rssMiB} MiB · idle writes ${s.idleWrites}${idleRate}${heal}${rotation}${other}`;
}

export function renderSection(run: OperatorRun, previous: RunSummary[]): string {
  const runs = [summary(run), ...previous].slice(0, HISTORY_LIMIT + 1);
  const burst = run.cpu.find((phase) => phase.phase.startsWith('burst'));
  const ours = burst ? CPU_COLUMNS.reduce((t, [k]) => t + (burst.seconds[k] ?? 0), 0) + burst.harnessSeconds : 0;
  const rest =
    burst?.machineBusySeconds !== undefined && burst.machineCapacitySeconds
      ? Math.max(0, burst.machineBusySeconds - ours) / burst.machineCapacitySeconds
      : undefined;
  const busy =
    run.loadAverage >= 0.5 || (rest ?? 0) >= 0.1
      ? ` **The machine was shared**${rest === undefined ? '' : `: work the benchmark did not start took ${Math.round(rest * 100)} % of the CPUs during the burst ("rest of the machine" below)`}, so the times are longer than on an idle machine; CPU seconds per component move far less.`
      : '';
  const { sizes } = run;
  const data = JSON.stringify({ runs }).replace(/--/g, '-\\u002d');
  return [
    START,
    '## Operator (`npm run bench`)',
    '',
    `Latest run: ${run.date} · commit \`${run.commit}\` · ${run.machine} · load average ${run.loadAverage.toFixed(2)} before the run.${busy}`,
    '',
    renderFigures(run),
    '',
    '### Where the CPU and the time went',
    '',
    renderCpu(run),
    '',
    "Per phase, from the operator's and the server's metrics (mean server time per request in parentheses):",
    '',
    renderProfiles(run),
    '',
    '**Method.** A throw-away control plane (etcd + kube-apiserver, as in the e2e tests) with the generated CRDs, `gatehouse serve`',
    'from dist/ on a fresh SQLite database with its default `LOG_LEVEL=info`, and one `gatehouse operator` process from dist/',
    `(leader election off, all namespaces, WORKERS=${sizes.workers}, \`LOG_LEVEL=info\`), all on this machine beside the harness.`,
    'Each resource is a confidential `client_credentials` OAuth2Client with its own Secret, whose secret the operator gets minted by the',
    'server (`POST /clients/secrets`), so the server stores it under its fast keyed HMAC rather than scrypt. The harness talks to kube-apiserver over keep-alive connections, as kubectl does. It watches the resources',
    'and the managed Secrets of a fresh namespace; a resource counts as done when the watch has delivered both its `Ready=True` status (for its current generation) and its Secret with credentials.',
    `(1) One unmeasured warm-up resource (it pays the operator's first token: ${num(run.sequential.warmupMs)} ms), then ${sizes.sequential} resources created one after`,
    'another, each timed from the create call until it is done; nearest-rank p50/p99.',
    `(2) ${num(sizes.burst)} resources created by ${sizes.concurrency} concurrent requests, timed from the first create until the last resource is done;`,
    "the operator's RSS (VmRSS from /proc) is read at that moment. (3) Once the operator's queue is empty and its write counter",
    `has stopped moving (${num(run.idle.settleSeconds, 1)} s after the burst), ${sizes.idleSeconds} s idle: the writes counted by the operator`,
    '(`gatehouse_operator_writes_total`), by kube-apiserver (`apiserver_request_total`, write verbs on oauth2clients, secrets and events) and',
    'by the authorization server (POST/PUT/DELETE on `/clients` in its request metrics) must not move; every request the server answered',
    "in that window (its /metrics excepted; only the operator talks to it then) is counted per minute: the drift check's steady cost.",
    `(4) ${run.selfHeal.deleted} clients of the burst are deleted on the server through the SDK, one every ${num(run.selfHeal.spreadSeconds / run.selfHeal.deleted, 1)} s, so the deletions`,
    `cover one drift-check period (${num(run.driftCheckSeconds)} s, the default) and one of them lands just after a check; each is timed from its DELETE until a`,
    "poll (every 250 ms) finds the client again. (5) One KeyPolicy over the burst's clients, applied once all their Secrets are older than",
    'its 60 s interval, so every client is due at once; timed from its creation until every one of their Secrets carries a rotation, while an',
    "application requests a token every 100 ms with the first client's Secret (re-read each second); none may fail. CPU is user + system time from",
    '/proc per process; "rest of the machine" is the machine\'s busy time minus those, i.e. work the benchmark did not start.',
    'Runs with other sizes (`npm run bench -- --help`) are not recorded here.',
    '',
    '### History',
    '',
    ...(runs.length > 1 ? runs.slice(1).map(historyLine) : ['(no earlier runs)']),
    '',
    `<!-- operator-bench-data: ${data} -->`,
    END,
  ].join('\n');
}

/** Rewrites only the operator section, reading the file at the last moment; other sections are kept byte for byte. */
export function writeOperatorSection(path: string, run: OperatorRun): void {
  rewriteSection<RunSummary>(path, { start: START, end: END, data: DATA }, (previous) => renderSection(run, previous));
}
