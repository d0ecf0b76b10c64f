// Metrics under the exact names controller-runtime and client-go export, so existing dashboards and alerts
// (kube-prometheus, the controller-runtime Grafana boards) work on `gatehouse operator` unchanged.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

export interface UnfinishedWork {
  /** Sum over in-flight items of how long each has been processing. */
  totalSeconds: number;
  /** The oldest in-flight item's processing time, 0 when idle. */
  longestSeconds: number;
}

/** What a work queue reports; plain methods so the queue never loads prom-client and tests can pass spies. */
export interface WorkQueueMetrics {
  depth(items: number): void;
  added(): void;
  queueLatency(seconds: number): void;
  workDuration(seconds: number): void;
  retried(): void;
  /** Called once; the probe is read at scrape time, so no timer is needed to keep those gauges fresh. */
  watchUnfinishedWork(probe: () => UnfinishedWork): void;
}

/** What runWorkers reports for one controller. */
export interface ReconcileMetrics {
  maxConcurrentReconciles(workers: number): void;
  activeWorkers(delta: 1 | -1): void;
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
}

export interface LeaderElectionMetrics {
  leading(isLeader: boolean): void;
}

const OUTCOMES: readonly ReconcileOutcome[] = ['success', 'error', 'requeue', 'requeue_after'];

// controller-runtime's buckets for reconcile time, and client-go's 10 ns .. 1000 s for queue latencies.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10,
  15, 20, 25, 30, 40, 50, 60,
];
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number(`1e${i - 8}`));

/** One per registry: prom-client refuses a second registration of the same metric name. */
export class ControllerMetrics {
  private readonly probes = new Map<string, () => UnfinishedWork>();

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly depth: Gauge<'name'>;
  readonly adds: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly retries: Counter<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunning: Gauge<'name'>;
  readonly leaderStatus: Gauge<'name'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    const ctrl = ['controller'] as const;
    const queue = ['name'] as const;
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'] as const,
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ctrl,
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ctrl,
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.maxConcurrent = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ctrl,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ctrl,
      registers,
    });
    this.depth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: queue, registers });
    this.adds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queue,
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queue,
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: queue,
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queue,
      registers,
    });
    // Read at scrape time from each queue's probe: the values are ages, which a periodic push would always lag.
    const probes = this.probes;
    const scrape = (pick: (work: UnfinishedWork) => number) =>
      function (this: Gauge<'name'>) {
        for (const [name, probe] of probes) this.set({ name }, pick(probe()));
      };
    this.unfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate ' +
        'at which this increases.',
      labelNames: queue,
      registers,
      collect: scrape((w) => w.totalSeconds),
    });
    this.longestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: queue,
      registers,
      collect: scrape((w) => w.longestSeconds),
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
      labelNames: queue,
      registers,
    });
  }

  /** Hooks for runWorkers; every result series starts at 0 (as in controller-runtime) so rate() works at once. */
  controller(name: string): ReconcileMetrics {
    const labels = { controller: name };
    for (const result of OUTCOMES) this.reconcileTotal.inc({ ...labels, result }, 0);
    this.reconcileErrors.inc(labels, 0);
    this.activeWorkers.set(labels, 0);
    return {
      maxConcurrentReconciles: (workers) => this.maxConcurrent.set(labels, workers),
      activeWorkers: (delta) => this.activeWorkers.inc(labels, delta),
      reconciled: (outcome, seconds) => {
        this.reconcileTotal.inc({ ...labels, result: outcome });
        if (outcome === 'error') this.reconcileErrors.inc(labels);
        this.reconcileTime.observe(labels, seconds);
      },
    };
  }

  /** Hooks for a WorkQueue; controller-runtime names a controller's queue after the controller. */
  queue(name: string): WorkQueueMetrics {
    const labels = { name };
    this.depth.set(labels, 0);
    this.adds.inc(labels, 0);
    this.retries.inc(labels, 0);
    return {
      depth: (items) => this.depth.set(labels, items),
      added: () => this.adds.inc(labels),
      queueLatency: (seconds) => this.queueDuration.observe(labels, seconds),
      workDuration: (seconds) => this.workDuration.observe(labels, seconds),
      retried: () => this.retries.inc(labels),
      watchUnfinishedWork: (probe) => void this.probes.set(name, probe),
    };
  }

  leaderElection(name: string): LeaderElectionMetrics {
    const labels = { name };
    this.leaderStatus.set(labels, 0);
    return { leading: (isLeader) => this.leaderStatus.set(labels, isLeader ? 1 : 0) };
  }
}
