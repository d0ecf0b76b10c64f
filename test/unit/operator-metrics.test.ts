import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ControllerMetrics } from '../../src/operator/runtime/metrics.js';
import { ItemExponentialRateLimiter } from '../../src/operator/runtime/rate-limiter.js';
import { WorkQueue, runWorkers } from '../../src/operator/runtime/workqueue.js';

/** The value of one series, read back from the registry the way a scrape would. */
async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const [metric, suffix] = name.endsWith('_count') || name.endsWith('_sum') ? [name.replace(/_(count|sum)$/, ''), name] : [name, undefined];
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === metric);
  const series = found?.values.find(
    (v) => (suffix === undefined || (v as { metricName?: string }).metricName === suffix) && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return series?.value;
}

const NAMES = [
  'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_errors_total',
  'controller_runtime_reconcile_time_seconds',
  'controller_runtime_max_concurrent_reconciles',
  'controller_runtime_active_workers',
  'workqueue_depth',
  'workqueue_adds_total',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
  'workqueue_retries_total',
  'workqueue_unfinished_work_seconds',
  'workqueue_longest_running_processor_seconds',
  'leader_election_master_status',
];

describe('ControllerMetrics', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('registers exactly the controller-runtime and client-go metric names, with their types', async () => {
    const registry = new Registry();
    new ControllerMetrics(registry);
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.map((m) => m.name).sort()).toEqual([...NAMES].sort());
    const types = Object.fromEntries(metrics.map((m) => [m.name, String(m.type)]));
    expect(types).toMatchObject({
      controller_runtime_reconcile_total: 'counter',
      controller_runtime_reconcile_time_seconds: 'histogram',
      controller_runtime_active_workers: 'gauge',
      workqueue_depth: 'gauge',
      workqueue_queue_duration_seconds: 'histogram',
      workqueue_unfinished_work_seconds: 'gauge',
      leader_election_master_status: 'gauge',
    });
  });

  it('starts every result series of a controller at 0 so rate() works before the first reconcile', async () => {
    const registry = new Registry();
    new ControllerMetrics(registry).controller('oauth2client');
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(await value(registry, 'controller_runtime_reconcile_total', { controller: 'oauth2client', result })).toBe(0);
    }
    expect(await value(registry, 'controller_runtime_reconcile_errors_total', { controller: 'oauth2client' })).toBe(0);
  });

  it('refuses a second instance on the same registry', () => {
    const registry = new Registry();
    new ControllerMetrics(registry);
    expect(() => new ControllerMetrics(registry)).toThrow(/already been registered/);
  });

  it('counts reconciles, errors, requeues and queue activity from a real run', async () => {
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    const queue = new WorkQueue({
      metrics: metrics.queue('oauth2client'),
      rateLimiter: new ItemExponentialRateLimiter<string>(100, 1000),
    });
    const attempts = new Map<string, number>();
    const workers = runWorkers(
      queue,
      4,
      async (key) => {
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        await new Promise((r) => setTimeout(r, 50));
        if (key === 'flaky' && n === 1) throw new Error('server unavailable');
        if (key === 'periodic' && n === 1) return { requeueAfterMs: 1000 };
        if (key === 'again' && n === 1) return { requeue: true };
        return undefined;
      },
      { onError: () => {}, metrics: metrics.controller('oauth2client') },
    );
    const c = { controller: 'oauth2client' };
    const q = { name: 'oauth2client' };
    expect(await value(registry, 'controller_runtime_max_concurrent_reconciles', c)).toBe(4);

    for (const key of ['ok', 'flaky', 'periodic', 'again', 'ok']) queue.add(key);
    // Four keys went straight to idle workers; the second "ok" waits for the first to finish.
    expect(await value(registry, 'workqueue_depth', q)).toBe(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(await value(registry, 'controller_runtime_active_workers', c)).toBe(4);
    await vi.advanceTimersByTimeAsync(20);
    expect(await value(registry, 'workqueue_unfinished_work_seconds', q)).toBeCloseTo(4 * 0.03);
    expect(await value(registry, 'workqueue_longest_running_processor_seconds', q)).toBeCloseTo(0.03);

    await vi.advanceTimersByTimeAsync(5000);
    await workers.stop();

    // Every key ran twice: ok because it was added again while in flight, the others by their result.
    expect(await value(registry, 'controller_runtime_reconcile_total', { ...c, result: 'success' })).toBe(5);
    expect(await value(registry, 'controller_runtime_reconcile_total', { ...c, result: 'error' })).toBe(1);
    expect(await value(registry, 'controller_runtime_reconcile_total', { ...c, result: 'requeue' })).toBe(1);
    expect(await value(registry, 'controller_runtime_reconcile_total', { ...c, result: 'requeue_after' })).toBe(1);
    expect(await value(registry, 'controller_runtime_reconcile_errors_total', c)).toBe(1);
    expect(await value(registry, 'controller_runtime_reconcile_time_seconds_count', c)).toBe(8);
    expect(await value(registry, 'controller_runtime_reconcile_time_seconds_sum', c)).toBeCloseTo(8 * 0.05);
    expect(await value(registry, 'controller_runtime_active_workers', c)).toBe(0);

    // 5 adds (the duplicate "ok" counts: it was in flight, not queued), then the re-adds of flaky, periodic, again.
    expect(await value(registry, 'workqueue_adds_total', q)).toBe(8);
    // addRateLimited for flaky and again, addAfter for periodic.
    expect(await value(registry, 'workqueue_retries_total', q)).toBe(3);
    expect(await value(registry, 'workqueue_queue_duration_seconds_count', q)).toBe(8);
    expect(await value(registry, 'workqueue_work_duration_seconds_count', q)).toBe(8);
    expect(await value(registry, 'workqueue_work_duration_seconds_sum', q)).toBeCloseTo(8 * 0.05);
    expect(await value(registry, 'workqueue_depth', q)).toBe(0);
    expect(await value(registry, 'workqueue_unfinished_work_seconds', q)).toBe(0);
    expect(await value(registry, 'workqueue_longest_running_processor_seconds', q)).toBe(0);
  });

  it('uses client-go latency buckets from 10 ns to 1000 s', async () => {
    const registry = new Registry();
    const hooks = new ControllerMetrics(registry).queue('q');
    hooks.queueLatency(0.5);
    const text = await registry.metrics();
    const les = [...text.matchAll(/workqueue_queue_duration_seconds_bucket\{le="([^"]+)"/g)].map((m) => m[1]);
    expect(les).toEqual(['1e-8', '1e-7', '0.000001', '0.00001', '0.0001', '0.001', '0.01', '0.1', '1', '10', '100', '1000', '+Inf']);
  });

  it('keeps separate series per queue and per controller', async () => {
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    const a = metrics.queue('a');
    const b = metrics.queue('b');
    a.added();
    a.added();
    b.added();
    metrics.controller('x').reconciled('error', 0.1);
    metrics.controller('y');
    expect(await value(registry, 'workqueue_adds_total', { name: 'a' })).toBe(2);
    expect(await value(registry, 'workqueue_adds_total', { name: 'b' })).toBe(1);
    expect(await value(registry, 'controller_runtime_reconcile_errors_total', { controller: 'x' })).toBe(1);
    expect(await value(registry, 'controller_runtime_reconcile_errors_total', { controller: 'y' })).toBe(0);
  });

  it('reports leadership as 0/1 on leader_election_master_status', async () => {
    const registry = new Registry();
    const leader = new ControllerMetrics(registry).leaderElection('gatehouse-operator');
    const lease = { name: 'gatehouse-operator' };
    expect(await value(registry, 'leader_election_master_status', lease)).toBe(0);
    leader.leading(true);
    expect(await value(registry, 'leader_election_master_status', lease)).toBe(1);
    leader.leading(false);
    expect(await value(registry, 'leader_election_master_status', lease)).toBe(0);
  });

  it('exposes the series in the Prometheus text format under their usual names', async () => {
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    metrics.controller('oauth2client').reconciled('success', 0.01);
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_total{controller="oauth2client",result="success"} 1');
    expect(text).toContain('controller_runtime_reconcile_time_seconds_count{controller="oauth2client"} 1');
  });
});
