import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeldRefusals } from '../../src/server/oauth2/held-refusals.js';

/** Which of the given holds have been released so far. */
function watch(holds: (Promise<void> | undefined)[]) {
  const released = holds.map(() => false);
  holds.forEach((hold, i) => void hold?.then(() => (released[i] = true)));
  return released;
}

describe('HeldRefusals', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('releases a refusal after the delay, not before', async () => {
    const refusals = new HeldRefusals({ delayMs: 1000, maxHeld: 10 });
    const released = watch([refusals.hold(5)]);
    await vi.advanceTimersByTimeAsync(999);
    expect(released).toEqual([false]);
    expect(refusals.held).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toEqual([true]);
    expect(refusals.held).toBe(0);
  });

  it('never holds past Retry-After', async () => {
    const refusals = new HeldRefusals({ delayMs: 30_000, maxHeld: 10 });
    const released = watch([refusals.hold(2)]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(released).toEqual([true]);
  });

  it('sends at once when the delay is off', () => {
    expect(new HeldRefusals({ delayMs: 0, maxHeld: 10 }).hold(1)).toBeUndefined();
  });

  it('holds no more than the cap: beyond it refusals go out at once', async () => {
    const refusals = new HeldRefusals({ delayMs: 1000, maxHeld: 2 });
    const holds = [refusals.hold(1), refusals.hold(1), refusals.hold(1)];
    expect(holds.map((hold) => hold !== undefined)).toEqual([true, true, false]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(refusals.hold(1)).toBeDefined();
  });

  it('releases everything on close and holds nothing after it', async () => {
    const refusals = new HeldRefusals({ delayMs: 60_000, maxHeld: 10 });
    const released = watch([refusals.hold(60), refusals.hold(60)]);
    refusals.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toEqual([true, true]);
    expect(refusals.held).toBe(0);
    expect(refusals.hold(60)).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});
