import { describe, expect, it } from 'vitest';
import { IdleMemoryReclaimer, type CollectGarbage } from '../../src/server/idle-memory.js';

const MiB = 1024 * 1024;

/** A heap whose size the test sets, and a collector that shrinks it to `liveBytes` and records each call. */
function fakeHeap(initialBytes: number, liveBytes: number) {
  const heap = { bytes: initialBytes, collections: [] as Parameters<CollectGarbage>[0][], freed: [] as number[] };
  const collect: CollectGarbage = (options) => {
    heap.collections.push(options);
    heap.bytes = liveBytes;
    return Promise.resolve();
  };
  const reclaimer = new IdleMemoryReclaimer(
    collect,
    { idleMs: 1000, minGrowthBytes: 16 * MiB },
    (freed) => heap.freed.push(freed),
    () => {},
    () => heap.bytes,
  );
  return { heap, reclaimer };
}

describe('IdleMemoryReclaimer', () => {
  it('collects once a busy period is followed by a quiet one, with a memory-reducing full collection', async () => {
    const { heap, reclaimer } = fakeHeap(40 * MiB, 30 * MiB);
    reclaimer.noteRequest()();
    heap.bytes = 90 * MiB;
    expect(reclaimer.endOfPeriod()).toBeUndefined();
    const collection = reclaimer.endOfPeriod();
    expect(collection).toBeInstanceOf(Promise);
    await collection;
    expect(heap.collections).toEqual([{ type: 'major', execution: 'async', flavor: 'last-resort' }]);
    expect(heap.freed).toEqual([60 * MiB]);
  });

  it('collects once on start, and measures growth from the heap that left', async () => {
    const { heap, reclaimer } = fakeHeap(60 * MiB, 30 * MiB);
    await reclaimer.start();
    await reclaimer.stop();
    expect(heap.collections).toHaveLength(1);
    reclaimer.noteRequest()();
    heap.bytes = 30 * MiB + 17 * MiB;
    void reclaimer.endOfPeriod();
    expect(reclaimer.endOfPeriod()).toBeInstanceOf(Promise);
  });

  it('never collects while requests keep coming, however large the heap', () => {
    const { heap, reclaimer } = fakeHeap(40 * MiB, 30 * MiB);
    heap.bytes = 200 * MiB;
    for (let period = 0; period < 10; period++) {
      reclaimer.noteRequest()();
      expect(reclaimer.endOfPeriod()).toBeUndefined();
    }
    expect(heap.collections).toHaveLength(0);
  });

  it('waits while a request is still being answered, however long ago it arrived', async () => {
    const { heap, reclaimer } = fakeHeap(40 * MiB, 30 * MiB);
    const finished = reclaimer.noteRequest();
    heap.bytes = 90 * MiB;
    for (let period = 0; period < 5; period++) expect(reclaimer.endOfPeriod()).toBeUndefined();
    finished();
    await reclaimer.endOfPeriod();
    expect(heap.collections).toHaveLength(1);
  });

  it('survives a collector that throws instead of rejecting, and reports it', async () => {
    const failures: unknown[] = [];
    let bytes = 40 * MiB;
    const reclaimer = new IdleMemoryReclaimer(
      () => {
        throw new Error('unknown option');
      },
      { idleMs: 1000, minGrowthBytes: 16 * MiB },
      () => {},
      (error) => failures.push(error),
      () => bytes,
    );
    reclaimer.noteRequest()();
    bytes = 90 * MiB;
    void reclaimer.endOfPeriod();
    await reclaimer.endOfPeriod();
    expect(failures).toHaveLength(1);
  });

  it('does not collect when the heap grew less than the threshold since the last collection', () => {
    const { heap, reclaimer } = fakeHeap(40 * MiB, 30 * MiB);
    reclaimer.noteRequest()();
    heap.bytes = 40 * MiB + 15 * MiB;
    void reclaimer.endOfPeriod();
    expect(reclaimer.endOfPeriod()).toBeUndefined();
    expect(heap.collections).toHaveLength(0);
  });

  it('collects once per quiet spell, not at every idle period after it', async () => {
    const { heap, reclaimer } = fakeHeap(40 * MiB, 30 * MiB);
    reclaimer.noteRequest()();
    heap.bytes = 90 * MiB;
    void reclaimer.endOfPeriod();
    await reclaimer.endOfPeriod();
    heap.bytes = 90 * MiB;
    expect(reclaimer.endOfPeriod()).toBeUndefined();
    expect(reclaimer.endOfPeriod()).toBeUndefined();
    expect(heap.collections).toHaveLength(1);
    // The next burst counts from the heap the collection left.
    reclaimer.noteRequest()();
    void reclaimer.endOfPeriod();
    await reclaimer.endOfPeriod();
    expect(heap.collections).toHaveLength(2);
  });

  it('starts no second collection while one is still running', () => {
    let finish: () => void = () => {};
    const collections: unknown[] = [];
    let bytes = 90 * MiB;
    const reclaimer = new IdleMemoryReclaimer(
      (options) => {
        collections.push(options);
        return new Promise<void>((resolve) => (finish = resolve));
      },
      { idleMs: 1000, minGrowthBytes: 16 * MiB },
      () => {},
      () => {},
      () => bytes,
    );
    bytes = 200 * MiB;
    reclaimer.noteRequest()();
    void reclaimer.endOfPeriod();
    expect(reclaimer.endOfPeriod()).toBeInstanceOf(Promise);
    reclaimer.noteRequest()();
    void reclaimer.endOfPeriod();
    expect(reclaimer.endOfPeriod()).toBeUndefined();
    expect(collections).toHaveLength(1);
    finish();
  });
});
