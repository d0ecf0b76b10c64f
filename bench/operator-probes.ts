// What the operator benchmark reads from outside the processes it measures: /proc (CPU, memory, which pids belong to
// the control plane) and Prometheus text from the operator, the server and kube-apiserver.
import { readFileSync, readdirSync } from 'node:fs';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { cpuSecondsOf } from './cpu.js';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Every sample of one metric in Prometheus text exposition format (no escapes in the label values we read). */
export function samples(text: string, name: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const labels: Record<string, string> = {};
    let valueText = rest.trim();
    if (rest[0] === '{') {
      const close = rest.lastIndexOf('}');
      for (const match of rest.slice(1, close).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
      valueText = rest.slice(close + 1).trim();
    }
    found.push({ labels, value: Number(valueText.split(' ')[0]) });
  }
  return found;
}

export function sum(list: Sample[], keep: (labels: Record<string, string>) => boolean = () => true): number {
  return list.filter((s) => keep(s.labels)).reduce((total, s) => total + s.value, 0);
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);

/** The authorization server's writes to its client registry, from its own request metrics. */
export function serverClientWrites(metricsText: string): number {
  return sum(samples(metricsText, 'http_request_duration_seconds_count'), (l) => WRITE_VERBS.has(l.method ?? '') && (l.route ?? '').startsWith('/clients'));
}

/** Every request the authorization server answered, by "METHOD route", for the record. */
export function serverRequests(metricsText: string): Map<string, number> {
  const byRoute = new Map<string, number>();
  for (const s of samples(metricsText, 'http_request_duration_seconds_count')) {
    const key = `${s.labels.method} ${s.labels.route}`;
    byRoute.set(key, (byRoute.get(key) ?? 0) + s.value);
  }
  return byRoute;
}

/** Resources the operator writes; kube-apiserver's own loops (its identity Lease, for one) write others. */
export const OPERATOR_RESOURCES = new Set(['oauth2clients', 'secrets', 'events']);

/**
 * Writes kube-apiserver counted on the resources the operator touches, read from kube-apiserver's /metrics: an
 * independent check of the operator's own counter (which sees only the calls the controller makes on purpose).
 */
export async function apiServerWrites(kubeConfig: KubeConfig): Promise<{ total: number; byKey: Map<string, number> }> {
  const text = await apiServerMetrics(kubeConfig);
  const byKey = new Map<string, number>();
  let total = 0;
  for (const s of samples(text, 'apiserver_request_total')) {
    const { verb = '', resource = '', subresource = '' } = s.labels;
    if (!WRITE_VERBS.has(verb) || !OPERATOR_RESOURCES.has(resource)) continue;
    const key = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
    byKey.set(key, (byKey.get(key) ?? 0) + s.value);
    total += s.value;
  }
  return { total, byKey };
}

async function apiServerMetrics(kubeConfig: KubeConfig): Promise<string> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no cluster');
  const url = new URL('/metrics', server);
  const options: https.RequestOptions = { method: 'GET', hostname: url.hostname, port: url.port, path: url.pathname, timeout: 30_000 };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = https.request(options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode === 200) resolve(body);
        else reject(new Error(`kube-apiserver /metrics answered ${response.statusCode}: ${body.slice(0, 200)}`));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('kube-apiserver /metrics timed out')));
    request.on('error', reject);
    request.end();
  });
}

/**
 * etcd and kube-apiserver of the control plane whose files live in workDir: the harness does not hand out their pids,
 * but their command lines name the folder, and `comm` tells the servers from their watchdog shells.
 */
export function controlPlanePids(workDir: string): { etcd: number | undefined; apiServer: number | undefined } {
  let etcd: number | undefined;
  let apiServer: number | undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(workDir)) continue;
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'etcd') etcd = Number(entry);
      else if (comm === 'kube-apiserver') apiServer = Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return { etcd, apiServer };
}

/** Resident memory now, its peak and its file-backed part (code, mapped files), in MiB, from /proc/<pid>/status. */
export function memoryOf(pid: number | undefined): { rssMiB: number; peakMiB: number; fileMiB: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024, fileMiB: kib('RssFile') / 1024 };
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) since boot, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('cpu '));
    if (!line) return undefined;
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    const hz = 100; // USER_HZ; /proc/stat always counts in it
    return { busy: busy / hz, total: (busy + idle! + iowait!) / hz };
  } catch {
    return undefined;
  }
}

export interface CpuSnapshot {
  at: number;
  byProcess: Record<string, number | undefined>;
  harness: number;
  machine: { busy: number; total: number } | undefined;
}

export function cpuSnapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  const byProcess: Record<string, number | undefined> = {};
  for (const [name, pid] of Object.entries(pids)) byProcess[name] = cpuSecondsOf(pid);
  const usage = process.cpuUsage();
  return { at: performance.now(), byProcess, harness: (usage.user + usage.system) / 1e6, machine: machineCpu() };
}

export interface CpuPhase {
  phase: string;
  wallSeconds: number;
  /** CPU seconds per process over the phase. */
  seconds: Record<string, number | undefined>;
  harnessSeconds: number;
  /** Busy CPU seconds of the whole machine, and the cores' capacity over the phase. */
  machineBusySeconds: number | undefined;
  machineCapacitySeconds: number | undefined;
}

export function cpuPhase(phase: string, before: CpuSnapshot, after: CpuSnapshot): CpuPhase {
  const seconds: Record<string, number | undefined> = {};
  for (const name of Object.keys(after.byProcess)) {
    const a = after.byProcess[name];
    const b = before.byProcess[name];
    seconds[name] = a !== undefined && b !== undefined ? a - b : undefined;
  }
  return {
    phase,
    wallSeconds: (after.at - before.at) / 1000,
    seconds,
    harnessSeconds: after.harness - before.harness,
    machineBusySeconds: after.machine && before.machine ? after.machine.busy - before.machine.busy : undefined,
    machineCapacitySeconds: after.machine && before.machine ? after.machine.total - before.machine.total : undefined,
  };
}

export interface PhaseProfile {
  /** Reconciles by outcome (controller_runtime_reconcile_total). */
  reconciles: Record<string, number>;
  /** Mean time per reconcile and per wait in the work queue, from the operator's histograms. */
  reconcileMeanMs: number | undefined;
  queueWaitMeanMs: number | undefined;
  /** Requests the authorization server answered, by "METHOD route", with the mean time it took for each. */
  serverRoutes: Record<string, { count: number; meanMs: number }>;
  /** Writes the operator counted, by "target verb" (gatehouse_operator_writes_total). */
  operatorWrites: Record<string, number>;
}

function histogramMeanMs(before: string, after: string, name: string, keep: (labels: Record<string, string>) => boolean = () => true): number | undefined {
  const count = sum(samples(after, `${name}_count`), keep) - sum(samples(before, `${name}_count`), keep);
  const seconds = sum(samples(after, `${name}_sum`), keep) - sum(samples(before, `${name}_sum`), keep);
  return count > 0 ? (seconds / count) * 1000 : undefined;
}

/** What the operator and the server did between two scrapes of each. */
export function phaseProfile(operatorBefore: string, operatorAfter: string, serverBefore: string, serverAfter: string): PhaseProfile {
  const reconciles: Record<string, number> = {};
  for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
    const pick = (text: string) => sum(samples(text, 'controller_runtime_reconcile_total'), (l) => l.result === result);
    reconciles[result] = pick(operatorAfter) - pick(operatorBefore);
  }
  const serverRoutes: Record<string, { count: number; meanMs: number }> = {};
  const beforeCounts = serverRequests(serverBefore);
  for (const [key, count] of serverRequests(serverAfter)) {
    const delta = count - (beforeCounts.get(key) ?? 0);
    if (delta <= 0 || key === 'GET /metrics') continue;
    const [method, route] = key.split(' ') as [string, string];
    serverRoutes[key] = {
      count: delta,
      meanMs: histogramMeanMs(serverBefore, serverAfter, 'http_request_duration_seconds', (l) => l.method === method && l.route === route) ?? 0,
    };
  }
  const operatorWrites: Record<string, number> = {};
  const writesBefore = samples(operatorBefore, 'gatehouse_operator_writes_total');
  for (const after of samples(operatorAfter, 'gatehouse_operator_writes_total')) {
    const { target = '', verb = '' } = after.labels;
    const delta = after.value - sum(writesBefore, (l) => l.target === target && l.verb === verb);
    if (delta > 0) operatorWrites[`${target} ${verb}`] = delta;
  }
  return {
    reconciles,
    operatorWrites,
    reconcileMeanMs: histogramMeanMs(operatorBefore, operatorAfter, 'controller_runtime_reconcile_time_seconds'),
    queueWaitMeanMs: histogramMeanMs(operatorBefore, operatorAfter, 'workqueue_queue_duration_seconds'),
    serverRoutes,
  };
}

/** The operator's V8 heap and off-heap memory from its default Node metrics, in MiB. */
export function heapOf(operatorMetrics: string): { heapUsedMiB: number; heapTotalMiB: number; externalMiB: number } {
  const mib = (name: string) => sum(samples(operatorMetrics, name)) / 1024 ** 2;
  return {
    heapUsedMiB: mib('nodejs_heap_size_used_bytes'),
    heapTotalMiB: mib('nodejs_heap_size_total_bytes'),
    externalMiB: mib('nodejs_external_memory_bytes'),
  };
}
