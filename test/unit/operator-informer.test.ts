// The informer against an in-memory fake of list and watch, on fake timers: every recovery path (error, clean end,
// 410 Gone as an event and as a status, the watchdog) is driven deterministically, which a real API server cannot do
// (its watch cache answers old resourceVersions instead of 410).
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  Informer,
  InformerStoppedError,
  KubeApiError,
  type InformerOptions,
  type ListFunction,
  type ListRequest,
  type WatchEvent,
  type WatchFunction,
  type WatchRequest,
} from '../../src/operator/runtime/informer.js';

interface ConfigMap {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion: string };
  data?: Record<string, string>;
}

const NS = 'team-a';
const PATH = `/api/v1/namespaces/${NS}/configmaps`;

/** One open watch as the server side sees it. */
class FakeWatch {
  readonly done: Promise<void>;
  aborted = false;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };

  constructor(
    readonly request: WatchRequest,
    private readonly onEvent: (event: WatchEvent<ConfigMap>) => void,
    signal: AbortSignal,
  ) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    signal.addEventListener('abort', () => {
      this.aborted = true;
      this.settle.reject(new Error('aborted'));
    });
  }

  send(event: WatchEvent<ConfigMap>): void {
    this.onEvent(event);
  }

  end(): void {
    this.settle.resolve();
  }

  fail(error: unknown): void {
    this.settle.reject(error);
  }
}

/** A namespace of ConfigMaps with a resourceVersion counter, paged lists and scripted failures. */
class FakeServer {
  readonly objects = new Map<string, ConfigMap>();
  readonly lists: ListRequest[] = [];
  readonly watches: FakeWatch[] = [];
  readonly listFailures: unknown[] = [];
  private version = 100;

  readonly list: ListFunction<ConfigMap> = async (request) => {
    this.lists.push(request);
    const failure = this.listFailures.shift();
    if (failure) throw failure;
    const all = [...this.objects.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const start = Number(request.continue ?? 0);
    const end = start + request.limit;
    return {
      items: all.slice(start, end).map((item) => structuredClone(item)),
      resourceVersion: String(this.version),
      continue: end < all.length ? String(end) : undefined,
    };
  };

  readonly watch: WatchFunction<ConfigMap> = (request, onEvent, signal) => {
    const watch = new FakeWatch(request, onEvent, signal);
    this.watches.push(watch);
    return watch.done;
  };

  get current(): FakeWatch {
    const watch = this.watches.at(-1);
    if (!watch) throw new Error('no watch was opened');
    return watch;
  }

  /** Creates or changes an object, returning it with its new resourceVersion, without telling any watch. */
  put(name: string, data: Record<string, string> = {}): ConfigMap {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, resourceVersion: String(++this.version) }, data };
    this.objects.set(name, object);
    return structuredClone(object);
  }

  remove(name: string): ConfigMap {
    const object = this.objects.get(name);
    if (!object) throw new Error(`no ${name}`);
    this.objects.delete(name);
    return { ...structuredClone(object), metadata: { ...object.metadata, resourceVersion: String(++this.version) } };
  }

  bookmark(): ConfigMap {
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '', namespace: '', resourceVersion: String(++this.version) } };
  }
}

/** Every handler call, in order, as [kind, name, resourceVersion(s)]. */
function recordHandlers(informer: Informer<ConfigMap>): string[][] {
  const calls: string[][] = [];
  informer.onAdd((o) => calls.push(['add', o.metadata.name, o.metadata.resourceVersion]));
  informer.onUpdate((a, b) => calls.push(['update', b.metadata.name, `${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`]));
  informer.onDelete((o) => calls.push(['delete', o.metadata.name, o.metadata.resourceVersion]));
  return calls;
}

const names = (informer: Informer<ConfigMap>): string[] =>
  informer
    .list()
    .map((o) => o.metadata.name)
    .sort();
/** Lets pending promise chains run without moving the fake clock. */
const settle = async (): Promise<void> => {
  await vi.advanceTimersByTimeAsync(0);
};

describe('Informer', () => {
  let server: FakeServer;
  let informer: Informer<ConfigMap> | undefined;

  function makeInformer(options: Partial<InformerOptions<ConfigMap>> = {}): Informer<ConfigMap> {
    informer = new Informer<ConfigMap>({
      name: 'configmaps',
      kube: { server: 'https://unused.invalid', request: () => Promise.reject(new Error('not used')), open: () => Promise.reject(new Error('not used')) },
      path: PATH,
      listFactory: server.list,
      watchFactory: server.watch,
      watchdogMs: 5_000,
      ...options,
    });
    return informer;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    server = new FakeServer();
  });

  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    vi.useRealTimers();
  });

  test('lists page by page, caches every object, tells handlers, then watches from the list version', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) server.put(name, { name });
    const inf = makeInformer({ pageSize: 2, labelSelector: 'app=x', serverTimeoutSeconds: 120 });
    const calls = recordHandlers(inf);

    const started = inf.start();
    expect(inf.hasSynced()).toBe(false);
    await started;

    expect(inf.hasSynced()).toBe(true);
    expect(server.lists).toEqual([
      { path: PATH, labelSelector: 'app=x', limit: 2, continue: undefined },
      { path: PATH, labelSelector: 'app=x', limit: 2, continue: '2' },
      { path: PATH, labelSelector: 'app=x', limit: 2, continue: '4' },
    ]);
    expect(names(inf)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(inf.get(NS, 'c')?.data).toEqual({ name: 'c' });
    expect(inf.getByKey(`${NS}/d`)?.metadata.resourceVersion).toBe('104');
    expect(inf.get('other', 'c')).toBeUndefined();
    expect(calls).toEqual([
      ['add', 'a', '101'],
      ['add', 'b', '102'],
      ['add', 'c', '103'],
      ['add', 'd', '104'],
      ['add', 'e', '105'],
    ]);

    await settle();
    expect(server.watches).toHaveLength(1);
    expect(server.current.request).toEqual({
      path: PATH,
      labelSelector: 'app=x',
      resourceVersion: '105',
      timeoutSeconds: 120,
      allowWatchBookmarks: true,
    });
    expect(inf.stats).toEqual({ lists: 1, watchRestarts: 0, watchdogTimeouts: 0, gone: 0 });
  });

  test('applies ADDED, MODIFIED and DELETED; an update needs a new resourceVersion; BOOKMARKs only move the version', async () => {
    server.put('a', { v: '1' });
    const inf = makeInformer();
    const calls = recordHandlers(inf);
    await inf.start();
    await settle();
    calls.length = 0;

    server.current.send({ type: 'ADDED', object: server.put('b', { v: '1' }) });
    const a2 = server.put('a', { v: '2' });
    server.current.send({ type: 'MODIFIED', object: a2 });
    // The same version again (a duplicate delivery) changes nothing a handler should see.
    server.current.send({ type: 'MODIFIED', object: a2 });
    server.current.send({ type: 'DELETED', object: server.remove('b') });
    const bookmark = server.bookmark();
    server.current.send({ type: 'BOOKMARK', object: bookmark });

    expect(calls).toEqual([
      ['add', 'b', '102'],
      ['update', 'a', '101->103'],
      ['delete', 'b', '104'],
    ]);
    expect(names(inf)).toEqual(['a']);
    expect(inf.get(NS, 'a')?.data).toEqual({ v: '2' });
    expect(inf.resourceVersion).toBe(bookmark.metadata.resourceVersion);
  });

  test('a failed watch is reopened from the last version seen, after a backoff that doubles while nothing arrives', async () => {
    server.put('a');
    const inf = makeInformer({ backoff: { initialMs: 200, maxMs: 1_000 } });
    const calls = recordHandlers(inf);
    await inf.start();
    await settle();

    server.current.send({ type: 'ADDED', object: server.put('b') });
    const bookmark = server.bookmark();
    server.current.send({ type: 'BOOKMARK', object: bookmark });
    server.current.fail(new Error('socket hang up'));
    await settle();
    expect(server.watches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(server.watches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.watches).toHaveLength(2);
    expect(server.current.request.resourceVersion).toBe(bookmark.metadata.resourceVersion);

    // Failing again before any event: 400 ms, then 800, then the 1 s cap.
    for (const delay of [400, 800, 1_000, 1_000]) {
      const opened = server.watches.length;
      server.current.fail(new Error('connection refused'));
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(server.watches, `still waiting ${delay} ms`).toHaveLength(opened);
      await vi.advanceTimersByTimeAsync(1);
      expect(server.watches).toHaveLength(opened + 1);
      expect(server.current.request.resourceVersion).toBe(bookmark.metadata.resourceVersion);
    }

    // An event resets the backoff; the server ending a healthy watch (its timeoutSeconds) reopens it at once.
    const c = server.put('c');
    server.current.send({ type: 'ADDED', object: c });
    server.current.end();
    await settle();
    expect(server.current.request.resourceVersion).toBe(c.metadata.resourceVersion);
    const opened = server.watches.length;
    server.current.fail(new Error('reset'));
    await vi.advanceTimersByTimeAsync(200);
    expect(server.watches).toHaveLength(opened + 1);

    expect(server.lists).toHaveLength(1);
    expect(calls).toEqual([
      ['add', 'a', '101'],
      ['add', 'b', '102'],
      ['add', 'c', '104'],
    ]);
    expect(inf.stats).toEqual({ lists: 1, watchRestarts: 7, watchdogTimeouts: 0, gone: 0 });
  });

  test('410 Gone as a watch ERROR event re-lists and emits what changed meanwhile, deletions included', async () => {
    for (const name of ['keep', 'change', 'vanish']) server.put(name, { v: '1' });
    const inf = makeInformer();
    const calls = recordHandlers(inf);
    await inf.start();
    await settle();
    calls.length = 0;

    // Changes the watch never delivered, then the server says the version is too old.
    server.remove('vanish');
    server.put('change', { v: '2' });
    server.put('new', { v: '1' });
    server.current.send({
      type: 'ERROR',
      object: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 103 (200)' },
    });
    await vi.advanceTimersByTimeAsync(200);

    expect(server.lists).toHaveLength(2);
    expect(calls).toEqual([
      ['delete', 'vanish', '103'],
      ['update', 'change', '102->105'],
      ['add', 'new', '106'],
    ]);
    expect(names(inf)).toEqual(['change', 'keep', 'new']);
    expect(inf.get(NS, 'change')?.data).toEqual({ v: '2' });
    expect(server.watches).toHaveLength(2);
    expect(server.current.request.resourceVersion).toBe('106');
    expect(inf.stats).toEqual({ lists: 2, watchRestarts: 1, watchdogTimeouts: 0, gone: 1 });
  });

  test('410 Gone as the watch request status re-lists too; a failed re-list is retried', async () => {
    server.put('a');
    const inf = makeInformer();
    const calls = recordHandlers(inf);
    await inf.start();
    await settle();
    calls.length = 0;

    server.remove('a');
    server.listFailures.push(new Error('connection refused'));
    server.current.fail(new KubeApiError(410, { code: 410, reason: 'Gone' }, 'HTTP 410: Gone'));
    await vi.advanceTimersByTimeAsync(200);
    expect(server.lists).toHaveLength(2);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(400);

    expect(server.lists).toHaveLength(3);
    expect(calls).toEqual([['delete', 'a', '101']]);
    expect(inf.list()).toEqual([]);
    expect(inf.stats).toMatchObject({ lists: 2, gone: 1 });
  });

  test('a 410 on a watch resumed from an old version re-lists at once; one right after a fresh list backs off', async () => {
    server.put('a');
    const inf = makeInformer();
    await inf.start();
    await settle();
    server.current.fail(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(200);
    expect(server.watches).toHaveLength(2);

    // What a restarted kube-apiserver answers: its watch cache starts at the current version.
    const expired = { code: 410, reason: 'Expired', message: 'too old resource version: 101 (104)' };
    server.current.send({ type: 'ERROR', object: expired });
    await settle();
    expect(server.lists).toHaveLength(2);
    expect(server.watches).toHaveLength(3);

    // The fresh watch fails the same way before any event: now the re-list waits (400 ms, the backoff's next step).
    server.current.send({ type: 'ERROR', object: expired });
    await vi.advanceTimersByTimeAsync(399);
    expect(server.lists).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.lists).toHaveLength(3);
    expect(inf.stats).toEqual({ lists: 3, watchRestarts: 3, watchdogTimeouts: 0, gone: 2 });
  });

  test('a non-410 ERROR event restarts the watch from the last version without re-listing', async () => {
    server.put('a');
    const inf = makeInformer();
    await inf.start();
    await settle();

    server.current.send({ type: 'ERROR', object: { code: 500, reason: 'InternalError', message: 'etcd leader changed' } });
    expect(server.watches[0]?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(200);
    expect(server.watches).toHaveLength(2);
    expect(server.current.request.resourceVersion).toBe('101');
    expect(server.lists).toHaveLength(1);
  });

  test('the watchdog aborts a watch that stays silent and reopens it at once; bookmarks keep a watch alive', async () => {
    server.put('a');
    const inf = makeInformer({ watchdogMs: 5_000 });
    await inf.start();
    await settle();

    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(4_000);
      server.current.send({ type: 'BOOKMARK', object: server.bookmark() });
    }
    expect(server.watches).toHaveLength(1);
    expect(inf.stats.watchdogTimeouts).toBe(0);

    await vi.advanceTimersByTimeAsync(4_999);
    expect(server.watches[0]?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.watches[0]?.aborted).toBe(true);
    expect(server.watches).toHaveLength(2);
    expect(server.current.request.resourceVersion).toBe('105');
    expect(inf.stats).toEqual({ lists: 1, watchRestarts: 1, watchdogTimeouts: 1, gone: 0 });

    // Events on the abandoned watch are ignored even if its transport still delivers them.
    const calls = recordHandlers(inf);
    server.watches[0]?.send({ type: 'ADDED', object: server.put('late') });
    expect(calls).toEqual([]);
  });

  test('a failing list is retried with backoff, and start() resolves only once it succeeds', async () => {
    server.put('a');
    server.listFailures.push(new KubeApiError(503, undefined, 'HTTP 503'), new Error('ECONNREFUSED'));
    const inf = makeInformer();
    let synced = false;
    void inf.start().then(() => (synced = true));
    await vi.advanceTimersByTimeAsync(200);
    expect(synced).toBe(false);
    expect(server.lists).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(400);
    expect(synced).toBe(true);
    expect(names(inf)).toEqual(['a']);
  });

  test('an expired continue token (410 on a later page) starts the list over from the first page', async () => {
    for (const name of ['a', 'b', 'c']) server.put(name);
    server.listFailures.push(undefined, new KubeApiError(410, { code: 410, reason: 'Expired' }, 'HTTP 410: continue token expired'));
    const inf = makeInformer({ pageSize: 2 });
    const calls = recordHandlers(inf);
    const started = inf.start();
    await vi.advanceTimersByTimeAsync(200);
    await started;
    expect(server.lists.map((r) => r.continue)).toEqual([undefined, '2', undefined, '2']);
    // Nothing from the abandoned first page reached the cache twice or early.
    expect(calls).toEqual([
      ['add', 'a', '101'],
      ['add', 'b', '102'],
      ['add', 'c', '103'],
    ]);
    expect(inf.stats.lists).toBe(1);
  });

  test('a throwing handler neither stops the cache nor the other handlers', async () => {
    const inf = makeInformer();
    inf.onAdd(() => {
      throw new Error('handler bug');
    });
    const seen: string[] = [];
    inf.onAdd((o) => seen.push(o.metadata.name));
    await inf.start();
    await settle();
    server.current.send({ type: 'ADDED', object: server.put('a') });
    server.current.send({ type: 'ADDED', object: server.put('b') });
    expect(seen).toEqual(['a', 'b']);
    expect(names(inf)).toEqual(['a', 'b']);
  });

  test('stop() aborts the watch, clears every timer and silences handlers', async () => {
    server.put('a');
    const inf = makeInformer();
    const calls = recordHandlers(inf);
    await inf.start();
    await settle();
    expect(vi.getTimerCount()).toBe(1); // the watchdog

    await inf.stop();
    expect(server.current.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    server.current.send({ type: 'ADDED', object: server.put('late') });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.watches).toHaveLength(1);
    expect(calls).toEqual([['add', 'a', '101']]);
    await expect(inf.start()).rejects.toBeInstanceOf(InformerStoppedError);
  });

  test('stop() during a backoff wait leaves no timer behind', async () => {
    const inf = makeInformer({ backoff: { initialMs: 30_000, maxMs: 30_000 } });
    await inf.start();
    await settle();
    server.current.fail(new Error('boom'));
    await settle();
    expect(vi.getTimerCount()).toBe(1); // the backoff sleep
    await inf.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(server.watches).toHaveLength(1);
  });

  test('stop() before the first list succeeds rejects start()', async () => {
    server.listFailures.push(new Error('ECONNREFUSED'));
    const inf = makeInformer();
    const started = inf.start();
    await settle();
    await inf.stop();
    await expect(started).rejects.toBeInstanceOf(InformerStoppedError);
    expect(vi.getTimerCount()).toBe(0);
    expect(inf.hasSynced()).toBe(false);
  });
});
