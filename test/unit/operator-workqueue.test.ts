import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UnfinishedWork, WorkQueueMetrics } from '../../src/operator/runtime/metrics.js';
import { ItemExponentialRateLimiter } from '../../src/operator/runtime/rate-limiter.js';
import { WorkQueue, runWorkers } from '../../src/operator/runtime/workqueue.js';

/** Resolves with the value, or 'pending' when the promise has not settled after the microtask queue drained. */
async function peek<T>(promise: Promise<T>): Promise<T | 'pending'> {
  const pending = Symbol('pending');
  const result = await Promise.race([promise, new Promise<typeof pending>((r) => setImmediate(() => r(pending)))]);
  return result === pending ? 'pending' : result;
}

/** Drains what is ready right now, marking each key done. */
async function drainReady(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const key = (await queue.get()) as string;
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

function fastQueue(): WorkQueue {
  return new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter<string>(10, 40) });
}

describe('WorkQueue: de-duplication and exclusive processing', () => {
  it('hands keys out in FIFO order and drops duplicates of a queued key', async () => {
    const q = new WorkQueue();
    for (const key of ['a', 'b', 'a', 'c', 'b']) q.add(key);
    expect(q.len()).toBe(3);
    expect(await drainReady(q)).toEqual(['a', 'b', 'c']);
    expect(q.len()).toBe(0);
  });

  it('makes get wait until a key is added', async () => {
    const q = new WorkQueue();
    const next = q.get();
    expect(await peek(next)).toBe('pending');
    q.add('a');
    expect(await next).toBe('a');
  });

  it('serves waiting getters in order, one key each', async () => {
    const q = new WorkQueue();
    const first = q.get();
    const second = q.get();
    q.add('a');
    q.add('b');
    expect([await first, await second]).toEqual(['a', 'b']);
  });

  it('re-queues a key added while it is processed only once it is done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    const next = q.get();
    expect(await peek(next)).toBe('pending');
    q.done(key as string);
    expect(await next).toBe('a');
  });

  it('queues a dirty key once on done, even after many adds while processing', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    for (let i = 0; i < 5; i++) q.add('a');
    q.done('a');
    expect(await drainReady(q)).toEqual(['a']);
  });

  it('forgets a key that was done without being added again', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.done((await q.get()) as string);
    expect(q.len()).toBe(0);
    expect(await peek(q.get())).toBe('pending');
  });

  it('ignores done for a key that is not being processed', () => {
    const q = new WorkQueue();
    q.add('a');
    q.done('a');
    q.done('zzz');
    expect(q.len()).toBe(1);
  });

  it('never lets two of many workers process one key, and processes every key after its last add', async () => {
    const q = new WorkQueue();
    const inFlight = new Set<string>();
    const lastAdd = new Map<string, number>();
    const lastStart = new Map<string, number>();
    let step = 0;
    let overlaps = 0;
    let producing = true;
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const keys = ['a', 'b', 'c'];
    const add = () => {
      const key = keys[Math.floor(random() * keys.length)] as string;
      lastAdd.set(key, ++step);
      q.add(key);
    };

    const worker = async () => {
      for (let key = await q.get(); key !== undefined; key = await q.get()) {
        if (inFlight.has(key)) overlaps++;
        inFlight.add(key);
        lastStart.set(key, ++step);
        // Adds from inside the work, as a reconcile touching its own object would trigger.
        if (producing && random() < 0.3) add();
        for (let i = Math.floor(random() * 4); i > 0; i--) await Promise.resolve();
        inFlight.delete(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let i = 0; i < 500; i++) {
      add();
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    // Adds stop first: the queue refuses adds once shutting down, so only then is "caught up" a stable state.
    producing = false;
    const caughtUp = () => [...lastAdd].every(([key, added]) => (lastStart.get(key) ?? 0) > added);
    for (let round = 0; !caughtUp() && round < 10_000; round++) await new Promise((r) => setImmediate(r));
    await q.shutDownWithDrain();
    await Promise.all(workers);

    expect(overlaps).toBe(0);
    for (const [key, added] of lastAdd) expect(lastStart.get(key)).toBeGreaterThan(added);
  });
});

describe('WorkQueue: delayed adds', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('adds each key when its delay has passed, in order of readiness', async () => {
    const q = new WorkQueue();
    q.addAfter('slow', 300);
    q.addAfter('fast', 100);
    q.addAfter('mid', 200);
    vi.advanceTimersByTime(99);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(await drainReady(q)).toEqual(['fast']);
    vi.advanceTimersByTime(250);
    expect(await drainReady(q)).toEqual(['mid', 'slow']);
  });

  it('adds keys that became due together in order of readiness, not of addAfter calls', async () => {
    const q = new WorkQueue();
    q.addAfter('c', 30);
    q.addAfter('a', 10);
    q.addAfter('b', 20);
    q.addAfter('a2', 10);
    vi.advanceTimersByTime(1000);
    expect(await drainReady(q)).toEqual(['a', 'a2', 'b', 'c']);
  });

  it('keeps the earliest pending delay of a key', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 500);
    q.addAfter('a', 50);
    q.addAfter('a', 80);
    vi.advanceTimersByTime(50);
    expect(await drainReady(q)).toEqual(['a']);
    vi.advanceTimersByTime(1000);
    expect(q.len()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('adds at once on a plain add, leaving the pending delay to fire later (client-go)', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 100);
    q.add('a');
    expect(await drainReady(q)).toEqual(['a']);
    vi.advanceTimersByTime(100);
    expect(await drainReady(q)).toEqual(['a']);
  });

  it('does not duplicate a key that is still queued when its delay fires', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.addAfter('a', 10);
    vi.advanceTimersByTime(10);
    expect(await drainReady(q)).toEqual(['a']);
  });

  it('treats a zero, negative or NaN delay as a plain add', () => {
    const q = new WorkQueue();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    q.addAfter('c', Number.NaN);
    expect(q.len()).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps one timer however many keys wait, and does not spin while waiting', () => {
    const q = new WorkQueue();
    for (let i = 0; i < 100; i++) q.addAfter(`k${i}`, 1000 + i);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(500);
    expect(vi.getTimerCount()).toBe(1);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1099 - 500);
    expect(q.len()).toBe(100);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits out delays longer than setTimeout can hold', () => {
    const q = new WorkQueue();
    const long = 2 ** 32;
    q.addAfter('a', long);
    vi.advanceTimersByTime(2 ** 31);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(long - 2 ** 31);
    expect(q.len()).toBe(1);
  });

  it('backs off rate-limited adds exponentially up to the cap, and forget starts over', async () => {
    const q = fastQueue();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      q.addRateLimited('a');
      let waited = 0;
      for (; q.len() === 0 && waited < 1000; waited++) vi.advanceTimersByTime(1);
      delays.push(waited);
      q.done((await q.get()) as string);
    }
    expect(delays).toEqual([10, 20, 40, 40, 40]);
    expect(q.numRequeues('a')).toBe(5);
    expect(q.numRequeues('b')).toBe(0);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('uses client-go defaults when no rate limiter is given', () => {
    const q = new WorkQueue();
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(q.numRequeues('a')).toBe(2);
    vi.advanceTimersByTime(4);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
  });
});

describe('WorkQueue: timers and process exit', () => {
  it('unrefs its timer so a pending requeue does not keep the process alive', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const q = new WorkQueue();
      q.addAfter('a', 60_000);
      const timer = spy.mock.results.at(-1)?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      q.shutDown();
    } finally {
      spy.mockRestore();
    }
  });

  it('clears its timer on shutdown', () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue();
      q.addAfter('a', 1000);
      q.addRateLimited('b');
      q.shutDown();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('WorkQueue: shutdown', () => {
  it('resolves waiting getters with undefined and every later get too', async () => {
    const q = new WorkQueue();
    const waiting = [q.get(), q.get()];
    q.shutDown();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
    expect(await q.get()).toBeUndefined();
    expect(q.shuttingDown).toBe(true);
  });

  it('drops pending keys and refuses new ones', async () => {
    vi.useFakeTimers();
    try {
      const q = fastQueue();
      q.add('a');
      q.add('b');
      q.addAfter('c', 10);
      q.shutDown();
      expect(q.len()).toBe(0);
      q.add('d');
      q.addAfter('e', 1);
      q.addRateLimited('f');
      vi.advanceTimersByTime(1000);
      expect(q.len()).toBe(0);
      expect(await q.get()).toBeUndefined();
      // A failure reported during shutdown must not count towards the key's backoff.
      expect(q.numRequeues('f')).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('drain resolves at once when nothing is in flight', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.shutDownWithDrain();
    expect(await q.get()).toBeUndefined();
  });

  it('drain waits for every in-flight key, and a key made dirty meanwhile is not re-queued', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    const a = (await q.get()) as string;
    const b = (await q.get()) as string;
    q.add('a');
    const drained = q.shutDownWithDrain();
    expect(await peek(drained)).toBe('pending');
    expect(await q.get()).toBeUndefined();
    q.done(a);
    expect(await peek(drained)).toBe('pending');
    expect(q.len()).toBe(0);
    q.done(b);
    expect(await peek(drained)).toBeUndefined();
  });

  it('a shutDown releases a drain still waiting', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    const drained = q.shutDownWithDrain();
    expect(await peek(drained)).toBe('pending');
    q.shutDown();
    expect(await peek(drained)).toBeUndefined();
    q.done('a');
  });
});

describe('WorkQueue: metrics hooks', () => {
  function recorder() {
    const calls = { depth: [] as number[], added: 0, latency: [] as number[], work: [] as number[], retried: 0 };
    let probe: (() => UnfinishedWork) | undefined;
    const metrics: WorkQueueMetrics = {
      depth: (n) => void calls.depth.push(n),
      added: () => void calls.added++,
      queueLatency: (s) => void calls.latency.push(s),
      workDuration: (s) => void calls.work.push(s),
      retried: () => void calls.retried++,
      watchUnfinishedWork: (p) => void (probe = p),
    };
    return { calls, metrics, unfinished: () => probe?.() };
  }

  it('reports adds (not duplicates), depth, latencies, retries and unfinished work', async () => {
    let now = 0;
    const { calls, metrics, unfinished } = recorder();
    const q = new WorkQueue({ metrics, clock: () => now, rateLimiter: new ItemExponentialRateLimiter(1, 1) });
    q.add('a');
    q.add('a');
    q.add('b');
    expect(calls.added).toBe(2);
    expect(calls.depth).toEqual([1, 2]);

    now = 250;
    const a = (await q.get()) as string;
    expect(calls.latency).toEqual([0.25]);
    expect(calls.depth.at(-1)).toBe(1);
    now = 1250;
    const b = (await q.get()) as string;
    now = 3250;
    expect(unfinished()).toEqual({ totalSeconds: 3 + 2, longestSeconds: 3 });

    q.add('a'); // dirty while in flight: counted as an add and in depth, like client-go
    expect(calls.added).toBe(3);
    expect(calls.depth.at(-1)).toBe(1);
    q.done(a);
    q.done(b);
    expect(calls.work).toEqual([3, 2]);
    expect(unfinished()).toEqual({ totalSeconds: 0, longestSeconds: 0 });

    q.addAfter('c', 10);
    q.addRateLimited('d');
    expect(calls.retried).toBe(2);
    q.shutDown();
    expect(calls.depth.at(-1)).toBe(0);
  });
});

describe('runWorkers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reconciles each key and forgets its backoff on success', async () => {
    const q = fastQueue();
    const seen: string[] = [];
    q.addRateLimited('a'); // an earlier failure
    const workers = runWorkers(q, 2, async (key) => void seen.push(key), { onError: () => {} });
    await vi.advanceTimersByTimeAsync(10);
    q.add('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['a', 'b']);
    expect(q.numRequeues('a')).toBe(0);
    await workers.stop();
  });

  it('retries a failing key with growing backoff, reports each error and resets after success', async () => {
    const q = fastQueue();
    const attempts: number[] = [];
    const errors: [string, unknown][] = [];
    let failures = 3;
    const boom = new Error('server unavailable');
    const workers = runWorkers(
      q,
      1,
      async () => {
        attempts.push(Date.now());
        if (failures-- > 0) throw boom;
      },
      { onError: (key, error) => errors.push([key, error]) },
    );
    const start = Date.now();
    q.add('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts.map((t) => t - start)).toEqual([0, 10, 30, 70]);
    expect(errors).toEqual([
      ['a', boom],
      ['a', boom],
      ['a', boom],
    ]);
    expect(q.numRequeues('a')).toBe(0);
    await workers.stop();
  });

  it('catches errors thrown synchronously and survives an onError that throws', async () => {
    const q = fastQueue();
    let calls = 0;
    const workers = runWorkers(
      q,
      1,
      (key: string) => {
        calls++;
        if (key === 'bad' && calls === 1) throw new Error('sync');
        return Promise.resolve();
      },
      {
        onError: () => {
          throw new Error('reporter broken');
        },
      },
    );
    q.add('bad');
    await vi.advanceTimersByTimeAsync(100);
    q.add('good');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(3);
    await workers.stop();
  });

  it('re-runs a key after requeueAfterMs without counting it as a failure', async () => {
    const q = fastQueue();
    const times: number[] = [];
    const start = Date.now();
    const workers = runWorkers(
      q,
      1,
      async () => {
        times.push(Date.now() - start);
        return times.length < 3 ? { requeueAfterMs: 5000 } : undefined;
      },
      { onError: () => {} },
    );
    q.add('a');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(times).toEqual([0, 5000, 10_000]);
    expect(q.numRequeues('a')).toBe(0);
    await workers.stop();
  });

  it('requeue: true retries with backoff although nothing failed', async () => {
    const q = fastQueue();
    const times: number[] = [];
    const start = Date.now();
    const errors: unknown[] = [];
    const workers = runWorkers(
      q,
      1,
      async () => {
        times.push(Date.now() - start);
        return { requeue: times.length < 3 };
      },
      { onError: (_k, e) => errors.push(e) },
    );
    q.add('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect(times).toEqual([0, 10, 30]);
    expect(errors).toEqual([]);
    await workers.stop();
  });

  it('runs up to count keys at once but never one key twice', async () => {
    vi.useRealTimers();
    const q = new WorkQueue();
    let active = 0;
    let peak = 0;
    const running = new Set<string>();
    let overlap = false;
    const release: (() => void)[] = [];
    const workers = runWorkers(
      q,
      3,
      async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        peak = Math.max(peak, ++active);
        await new Promise<void>((r) => release.push(r));
        running.delete(key);
        active--;
      },
      { onError: () => {} },
    );
    for (const key of ['a', 'b', 'c', 'd', 'a', 'b']) q.add(key);
    await new Promise((r) => setImmediate(r));
    expect(active).toBe(3);
    q.add('a'); // dirty while in flight
    while (release.length > 0 || q.len() > 0 || active > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(peak).toBe(3);
    expect(overlap).toBe(false);
    await workers.stop();
  });

  it('stop waits for in-flight reconciles, then nothing more runs', async () => {
    vi.useRealTimers();
    const q = new WorkQueue();
    const seen: string[] = [];
    let finish: () => void = () => {};
    let finished = false;
    const workers = runWorkers(
      q,
      2,
      async (key) => {
        seen.push(key);
        if (key === 'slow') {
          await new Promise<void>((r) => (finish = r));
          finished = true;
        }
      },
      { onError: () => {} },
    );
    q.add('slow');
    await new Promise((r) => setImmediate(r));
    const stopped = workers.stop();
    q.add('late');
    expect(await peek(stopped)).toBe('pending');
    finish();
    await stopped;
    expect(finished).toBe(true);
    expect(seen).toEqual(['slow']);
  });

  it('refuses a worker count below 1 or fractional', () => {
    const q = new WorkQueue();
    const reconcile = async () => {};
    expect(() => runWorkers(q, 0, reconcile, { onError: () => {} })).toThrow(RangeError);
    expect(() => runWorkers(q, 1.5, reconcile, { onError: () => {} })).toThrow(RangeError);
  });
});
