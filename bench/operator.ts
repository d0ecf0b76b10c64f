// The operator benchmark of `npm run bench`: apply → Secret-ready latency, time until a burst is all Ready, the
// operator's memory, and writes while idle, against a real control plane and a real server, with a CPU breakdown.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { hashSecret } from '../src/crypto/secret-hash.js';
import { GROUP, KIND, PLURAL, VERSION } from '../src/operator/api/oauth2client.js';
import { OPERATOR_ENV, operatorConfigSchema } from '../src/operator/config.js';
import { GatehouseClient } from '../src/sdk/index.js';
import { loadKubeClient } from '../src/operator/runtime/kube-client.js';
import { freshNamespace, startControlPlane, type ControlPlane } from '../test/support/control-plane.js';
import { applyCrds } from '../test/support/operator-stack.js';
import { ensureBuilt } from './build.js';
import { Children, type ChildDiedError } from './children.js';
import {
  apiServerWrites,
  controlPlanePids,
  cpuPhase,
  cpuSnapshot,
  heapOf,
  memoryOf,
  phaseProfile,
  samples,
  serverClientWrites,
  serverRequests,
  sum,
  type CpuPhase,
} from './operator-probes.js';
import {
  idleWritesOk,
  maxRestoreSeconds,
  renderCpu,
  renderFigures,
  renderProfiles,
  TARGETS,
  writeOperatorSection,
  type OperatorRun,
  type SelfHeal,
} from './operator-report.js';
import type { OperatorSettings } from './operator-settings.js';
import { BURST_LABEL, measureRotation } from './operator-rotation.js';
import { ReadinessTracker, SECRET_SUFFIX } from './operator-watch.js';
import { freePort, startGatehouse, waitUntilReady, type Gatehouse } from './servers.js';

const SEQUENTIAL_TIMEOUT_MS = 60_000;
const SETTLE_QUIET_MS = 3_000;
const SETTLE_LIMIT_MS = 120_000;
/** How often the harness looks for the deleted clients on the server while they are being restored. */
const RESTORE_POLL_MS = 250;

/** The operator's drift-check period: its default, as the benchmark leaves DRIFT_CHECK_PERIOD unset. */
const DRIFT_CHECK_MS = operatorConfigSchema.shape.driftCheck.parse(undefined);

function git(root: string, ...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function resourceBody(name: string): object {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: { name, labels: name.startsWith('burst-') ? { [BURST_LABEL.key]: BURST_LABEL.value } : {} },
    spec: { clientName: name, grantTypes: ['client_credentials'], scope: 'orders.read', secretName: `${name}${SECRET_SUFFIX}` },
  };
}

/** CPU of one scrypt at the server's parameters, in this process once nothing else of the benchmark runs. */
async function scryptCpuMs(rounds = 5): Promise<number | undefined> {
  try {
    await hashSecret('warm-up');
    const before = process.cpuUsage();
    for (let i = 0; i < rounds; i++) await hashSecret(`bench-${i}`);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / rounds;
  } catch {
    return undefined;
  }
}

export class OperatorBenchmark {
  private readonly children = new Children();
  private readonly dataDir = mkdtempSync(join(os.tmpdir(), 'gatehouse-bench-operator-'));
  private controlPlane: ControlPlane | undefined;
  private tracker: ReadinessTracker | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly root: string,
    private readonly settings: OperatorSettings,
    onDeath: (error: ChildDiedError) => void,
  ) {
    this.children.whenOneDies(onDeath);
  }

  /** Stops everything it started; safe to call twice, and while run() is still going (Ctrl-C). */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await this.tracker?.stop().catch(() => undefined);
      await this.children.stopAll();
      await this.controlPlane?.stop();
      rmSync(this.dataDir, { recursive: true, force: true });
    })());
  }

  /** 0 when every figure was measured (targets missed included), 1 when something failed on the way. */
  async run(): Promise<number> {
    const s = this.settings;
    const loadAverage = os.loadavg()[0] ?? 0;
    ensureBuilt(this.root);
    console.log(
      `\nOperator benchmark: ${s.sequential} sequential, ${s.burst} at once (${s.concurrency} in flight), ${s.idleSeconds} s idle, WORKERS=${s.workers}`,
    );

    const cp = (this.controlPlane = await startControlPlane());
    console.log(`  control plane ready in ${(cp.timings.totalMs / 1000).toFixed(1)} s`);
    // Keep-alive connections, as kubectl and the operator use: a TLS handshake per create would be charged to kube-apiserver.
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    await applyCrds(kc);
    const server = await startGatehouse(this.children, this.root, { dataDir: this.dataDir, logLevel: 'info', nodeFlags: [] });
    const namespace = await freshNamespace(kc, 'bench');
    const operator = await this.startOperator(cp.kubeconfigPath, server);
    const { etcd, apiServer } = controlPlanePids(cp.workDir);
    if (!etcd || !apiServer) console.log('  warning: could not find the pids of etcd and kube-apiserver; their CPU is not broken out');
    const pids = { operator: operator.child.pid, server: server.pid, apiServer, etcd };
    const operatorMetrics = async () => (await fetch(`http://127.0.0.1:${operator.healthPort}/metrics`)).text();
    const serverMetrics = async () => (await fetch(`${server.url}/metrics`)).text();

    const startMemory = memoryOf(operator.child.pid);
    const tracker = (this.tracker = new ReadinessTracker(await loadKubeClient(cp.kubeconfigPath), namespace));
    await tracker.start();
    const custom = kc.makeApiClient(CustomObjectsApi);
    const create = (name: string) =>
      custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body: resourceBody(name) });
    const cpu: CpuPhase[] = [];

    // (1) Sequential. The warm-up pays for the operator's first token and the first use of every code path.
    const warmStart = performance.now();
    await create('warmup');
    const warmupMs = (await tracker.whenDone('warmup', SEQUENTIAL_TIMEOUT_MS)) - warmStart;
    const latencies: number[] = [];
    const [opSeq0, srvSeq0] = await Promise.all([operatorMetrics(), serverMetrics()]);
    let before = cpuSnapshot(pids);
    for (let i = 0; i < s.sequential; i++) {
      const name = `seq-${String(i).padStart(4, '0')}`;
      const started = performance.now();
      await create(name);
      latencies.push((await tracker.whenDone(name, SEQUENTIAL_TIMEOUT_MS)) - started);
    }
    cpu.push(cpuPhase(`${s.sequential} sequential`, before, cpuSnapshot(pids)));
    const [opSeq1, srvSeq1] = await Promise.all([operatorMetrics(), serverMetrics()]);
    const sequentialProfile = phaseProfile(opSeq0, opSeq1, srvSeq0, srvSeq1);
    const afterSequentialMemory = memoryOf(operator.child.pid);
    const sorted = [...latencies].sort((a, b) => a - b);
    const sequential = {
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted[sorted.length - 1]!,
      meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      warmupMs,
    };
    console.log(
      `  sequential: p50 ${sequential.p50Ms.toFixed(0)} ms, p99 ${sequential.p99Ms.toFixed(0)} ms, max ${sequential.maxMs.toFixed(0)} ms (warm-up ${warmupMs.toFixed(0)} ms)`,
    );

    // (2) Burst.
    const [opBefore, srvBefore] = [opSeq1, srvSeq1];
    before = cpuSnapshot(pids);
    const burstStart = performance.now();
    let next = 0;
    const creator = async () => {
      while (next < s.burst) {
        const i = next++;
        await create(`burst-${String(i).padStart(5, '0')}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(s.concurrency, s.burst) }, creator));
    const appliedSeconds = (performance.now() - burstStart) / 1000;
    console.log(`  burst: all ${s.burst} applied after ${appliedSeconds.toFixed(1)} s`);
    const progress = setInterval(() => {
      console.log(`  burst: ${tracker.doneCount('burst-')}/${s.burst} Ready after ${((performance.now() - burstStart) / 1000).toFixed(0)} s`);
    }, 10_000);
    try {
      const all = tracker.whenCount('burst-', s.burst);
      const timeout = sleep(s.burstTimeoutSeconds * 1000, 'timeout' as const, { ref: false });
      if ((await Promise.race([all, timeout])) === 'timeout') {
        throw new Error(
          `only ${tracker.doneCount('burst-')} of ${s.burst} resources were Ready after ${s.burstTimeoutSeconds} s; the others: ${tracker.pendingReasons('burst-')}`,
        );
      }
    } finally {
      clearInterval(progress);
    }
    const lastDone = Math.max(...tracker.doneTimes('burst-').values());
    const afterBurst = cpuSnapshot(pids);
    const memory = memoryOf(operator.child.pid);
    cpu.push(cpuPhase(`burst of ${s.burst.toLocaleString('en-US')}`, before, { ...afterBurst, at: lastDone }));
    const [opAfter, srvAfter] = await Promise.all([operatorMetrics(), serverMetrics()]);
    const burstProfile = phaseProfile(opBefore, opAfter, srvBefore, srvAfter);
    const burst = { allReadySeconds: (lastDone - burstStart) / 1000, appliedSeconds };
    console.log(`  burst: all ${s.burst} Ready after ${burst.allReadySeconds.toFixed(1)} s; operator RSS ${memory?.rssMiB.toFixed(0) ?? '?'} MiB`);

    // (3) Idle: wait until the operator has finished the echoes of the burst (its own Secret events), then watch nothing move.
    const settleStart = performance.now();
    await this.settle(operatorMetrics);
    const settleSeconds = (performance.now() - settleStart) / 1000;
    const writes = (text: string, target: string) => sum(samples(text, 'gatehouse_operator_writes_total'), (l) => l.target === target);
    const serverCalls = (text: string) => new Map([...serverRequests(text)].filter(([route]) => route !== 'GET /metrics'));
    const [op0, srv0, api0] = await Promise.all([operatorMetrics(), serverMetrics(), apiServerWrites(kc)]);
    before = cpuSnapshot(pids);
    console.log(`  idle: ${s.idleSeconds} s (after ${settleSeconds.toFixed(1)} s for the operator to settle)`);
    await sleep(s.idleSeconds * 1000);
    cpu.push(cpuPhase(`${s.idleSeconds} s idle`, before, cpuSnapshot(pids)));
    const [op1, srv1, api1] = await Promise.all([operatorMetrics(), serverMetrics(), apiServerWrites(kc)]);
    const idle = {
      settleSeconds,
      operatorKubernetes: writes(op1, 'kubernetes') - writes(op0, 'kubernetes'),
      operatorServer: writes(op1, 'server') - writes(op0, 'server'),
      apiServer: api1.total - api0.total,
      serverClients: serverClientWrites(srv1) - serverClientWrites(srv0),
      serverRequests: 0,
    };
    const [calls0, calls1] = [serverCalls(srv0), serverCalls(srv1)];
    const idleCalls = [...calls1].map(([route, n]) => [route, n - (calls0.get(route) ?? 0)] as const).filter(([, n]) => n > 0);
    idle.serverRequests = idleCalls.reduce((total, [, n]) => total + n, 0);
    const idleRoutes = Object.fromEntries(idleCalls);
    if (idleCalls.length) console.log(`  requests to the authorization server while idle: ${idleCalls.map(([route, n]) => `${route} ×${n}`).join(', ')}`);
    if (idle.apiServer)
      console.log(
        `  kube-apiserver counted idle writes: ${[...api1.byKey]
          .map(([k, v]) => `${k} +${v - (api0.byKey.get(k) ?? 0)}`)
          .filter((l) => !l.endsWith('+0'))
          .join(', ')}`,
      );
    const afterIdle = memoryOf(operator.child.pid);

    // (4) Self-heal: clients deleted on the server behind the operator's back, which only its drift check notices.
    const healCount = Math.min(s.heal, s.burst);
    // Spread over the burst's names, so neither only the first nor only the last reconciled ones are picked.
    const victims = Array.from({ length: healCount }, (_, k) => `burst-${String(Math.floor(((k + 0.5) * s.burst) / healCount)).padStart(5, '0')}`);
    const [opHeal0, srvHeal0] = [op1, srv1];
    before = cpuSnapshot(pids);
    console.log(`  self-heal: deleting ${healCount} clients on the server over ${(DRIFT_CHECK_MS / 1000).toFixed(0)} s (one drift-check period)`);
    const selfHeal = await this.selfHeal(server, tracker, victims);
    cpu.push(cpuPhase(`self-heal of ${healCount}`, before, cpuSnapshot(pids)));
    const [opHeal1, srvHeal1] = await Promise.all([operatorMetrics(), serverMetrics()]);
    const healProfile = phaseProfile(opHeal0, opHeal1, srvHeal0, srvHeal1);
    const maxRestore = maxRestoreSeconds(selfHeal);
    console.log(
      maxRestore === undefined
        ? `  self-heal: only ${selfHeal.restoreSeconds.length} of ${healCount} clients were restored within ${selfHeal.timeoutSeconds} s of the last deletion`
        : `  self-heal: all ${healCount} restored; restore times ${[...selfHeal.restoreSeconds]
            .sort((a, b) => a - b)
            .map((t) => t.toFixed(1))
            .join(', ')} s`,
    );

    // (5) KeyPolicy: the burst's clients rotated by one policy at once, while an application uses one of them.
    console.log(`  rotation: one KeyPolicy over the ${s.burst} clients of the burst, all due at once`);
    before = cpuSnapshot(pids);
    const rotation = await measureRotation({
      kc,
      namespace,
      serverUrl: server.url,
      clients: s.burst,
      appSecret: `burst-00000${SECRET_SUFFIX}`,
      createdAt: Date.now() - (performance.now() - burstStart),
    });
    cpu.push(cpuPhase(`rotation of ${s.burst}`, before, cpuSnapshot(pids)));
    console.log(
      `  rotation: all ${s.burst} rotated after ${rotation.allRotatedSeconds.toFixed(1)} s; the application's token requests meanwhile: ${rotation.appRequests}, failed ${rotation.appFailures}${rotation.firstFailure ? ` (${rotation.firstFailure})` : ''}`,
    );

    const run: OperatorRun = {
      date: new Date().toISOString(),
      commit: `${git(this.root, 'rev-parse', '--short', 'HEAD') || 'unknown'}${git(this.root, 'status', '--porcelain', '--', 'src') ? '+dirty' : ''}`,
      machine: `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} · ${os.availableParallelism()} CPUs (nproc) · ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM · Node ${process.version}`,
      cores: os.availableParallelism(),
      loadAverage,
      sizes: { sequential: s.sequential, burst: s.burst, concurrency: s.concurrency, idleSeconds: s.idleSeconds, workers: s.workers, heal: healCount },
      driftCheckSeconds: DRIFT_CHECK_MS / 1000,
      sequential,
      burst,
      profiles: { sequential: sequentialProfile, burst: burstProfile, selfHeal: healProfile },
      rss: {
        startMiB: startMemory?.rssMiB ?? NaN,
        afterSequentialMiB: afterSequentialMemory?.rssMiB ?? NaN,
        atReadyMiB: memory?.rssMiB ?? NaN,
        peakMiB: afterIdle?.peakMiB ?? memory?.peakMiB ?? NaN,
        afterIdleMiB: afterIdle?.rssMiB ?? NaN,
      },
      heap: heapOf(opAfter),
      idle: { ...idle, serverRoutes: idleRoutes },
      selfHeal,
      rotation,
      cpu,
      scryptMs: undefined,
    };
    await this.stop();
    run.scryptMs = await scryptCpuMs();

    console.log(`\n${renderFigures(run)}\n\n${renderCpu(run)}\n\n${renderProfiles(run)}`);
    console.log(`Requests of any kind to the authorization server while idle (its /metrics excepted): ${idle.serverRequests}.`);
    if (loadAverage >= 0.5) console.log(`warning: load average ${loadAverage.toFixed(2)} before the run; other work was competing for the CPUs`);
    const idleOk = idleWritesOk(run);
    const missed = [
      sequential.p99Ms > TARGETS.p99Ms && 'p99',
      burst.allReadySeconds > TARGETS.allReadySeconds && 'all Ready',
      run.rss.atReadyMiB > TARGETS.rssMiB && 'RSS',
      !idleOk.kubernetes && 'idle API-server writes',
      !idleOk.server && 'idle authorization-server writes',
      (maxRestore === undefined || maxRestore > TARGETS.restoreSeconds) && 'self-heal',
      rotation.appFailures > 0 && 'rotation without failed token requests',
    ].filter(Boolean);
    if (missed.length) console.log(`Targets missed: ${missed.join(', ')}.`);
    if (s.writeDocs) {
      writeOperatorSection(join(this.root, 'docs/benchmarks.md'), run);
      console.log('Wrote docs/benchmarks.md (operator section).');
    } else {
      console.log(
        s.nonStandard ? 'Non-standard sizes, profiling or extra node flags: docs/benchmarks.md left alone.' : 'BENCH_WRITE=0: docs/benchmarks.md left alone.',
      );
    }
    if (s.profileDir) console.log(`CPU profile of the operator in ${s.profileDir} (summarize: node --import tsx bench/profile.ts ${s.profileDir})`);
    return 0;
  }

  private async startOperator(kubeconfigPath: string, server: Gatehouse): Promise<{ child: ChildProcess; healthPort: number }> {
    const healthPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.values(OPERATOR_ENV)) delete env[key];
    Object.assign(env, {
      KUBECONFIG: kubeconfigPath,
      GATEHOUSE_SERVER_URL: server.url,
      GATEHOUSE_CLIENT_ID: server.rootId,
      GATEHOUSE_CLIENT_SECRET: server.rootSecret,
      WORKERS: String(this.settings.workers),
      LEADER_ELECT: 'false',
      HEALTH_PORT: String(healthPort),
      HEALTH_HOST: '127.0.0.1',
      POD_NAME: 'bench-operator',
      LOG_LEVEL: 'info',
    });
    const flags = [...this.settings.nodeFlags, ...(this.settings.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${this.settings.profileDir}`] : [])];
    if (this.settings.profileDir) mkdirSync(this.settings.profileDir, { recursive: true });
    const child = this.children.service('gatehouse operator', process.execPath, [...flags, join(this.root, 'bin/gatehouse.js'), 'operator'], {
      env,
      cwd: this.dataDir,
    });
    await waitUntilReady('gatehouse operator', `http://127.0.0.1:${healthPort}/readyz`);
    return { child, healthPort };
  }

  /**
   * Deletes the victims' clients on the server one by one, evenly over one drift-check period (the checks' phase is
   * unknown, so one deletion lands just after a check and waits nearly a whole period: the worst case), and polls
   * until each exists again. Restored clients keep their id: the operator recreates the one in the resource's status.
   */
  private async selfHeal(server: Gatehouse, tracker: ReadinessTracker, victims: string[]): Promise<SelfHeal> {
    const timeoutMs = 2 * DRIFT_CHECK_MS + 60_000;
    const sdk = new GatehouseClient({ endpoint: server.url, clientId: server.rootId, clientSecret: server.rootSecret, scope: 'hydra.*' });
    try {
      const ids = victims.map((name) => {
        const id = tracker.clientIdOf(name);
        if (!id) throw new Error(`${name} has no client id in its status; cannot delete its client`);
        return id;
      });
      const { total: serverClients } = await sdk.listClients({ limit: 1 });
      let harnessRequests = 1;
      const deletedAt = new Map<string, number>();
      const restoreSeconds = new Map<string, number>();
      const spacingMs = DRIFT_CHECK_MS / ids.length;
      const start = performance.now();
      let deleting = true;
      let deletionError: unknown;
      void (async () => {
        try {
          for (const [k, id] of ids.entries()) {
            const wait = start + k * spacingMs - performance.now();
            if (wait > 0) await sleep(wait);
            await sdk.deleteClient(id);
            harnessRequests++;
            deletedAt.set(id, performance.now());
          }
        } catch (error) {
          deletionError = error;
        } finally {
          deleting = false;
        }
      })();
      for (;;) {
        if (deletionError) throw deletionError;
        const pending = [...deletedAt.keys()].filter((id) => !restoreSeconds.has(id));
        const lastDeletion = Math.max(...deletedAt.values());
        if (!deleting && (pending.length === 0 || performance.now() - lastDeletion > timeoutMs)) break;
        const found = await Promise.all(pending.map((id) => sdk.findClient(id)));
        harnessRequests += pending.length;
        const now = performance.now();
        pending.forEach((id, i) => {
          if (found[i]) restoreSeconds.set(id, (now - deletedAt.get(id)!) / 1000);
        });
        await sleep(RESTORE_POLL_MS);
      }
      return {
        deleted: ids.length,
        restoreSeconds: [...restoreSeconds.values()],
        spreadSeconds: DRIFT_CHECK_MS / 1000,
        timeoutSeconds: timeoutMs / 1000,
        serverClients,
        harnessRequests,
      };
    } finally {
      await sdk.close();
    }
  }

  /** Until the work queue is empty, no worker is busy and the write counter has not moved for a while. */
  private async settle(metrics: () => Promise<string>): Promise<void> {
    const deadline = performance.now() + SETTLE_LIMIT_MS;
    let lastWrites = -1;
    let quietSince = performance.now();
    while (performance.now() < deadline) {
      const text = await metrics();
      const writes = sum(samples(text, 'gatehouse_operator_writes_total'));
      const busy = sum(samples(text, 'workqueue_depth')) + sum(samples(text, 'controller_runtime_active_workers'));
      if (writes !== lastWrites || busy > 0) {
        lastWrites = writes;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= SETTLE_QUIET_MS) {
        return;
      }
      await sleep(500);
    }
    console.log(`  warning: the operator was still busy ${SETTLE_LIMIT_MS / 1000} s after the burst; measuring idle anyway`);
  }
}
