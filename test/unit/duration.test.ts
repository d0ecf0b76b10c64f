import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/duration.js';

describe('parseDuration (Go-style)', () => {
  it.each<[string, number]>([
    ['1h', 3_600_000],
    ['10m', 600_000],
    ['30s', 30_000],
    ['90s', 90_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['1m30s500ms', 90_500],
    ['0.5s', 500],
    [' 2h ', 7_200_000],
    ['0s', 0],
  ])('%j is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '1', 'h', '1d', '-1h', '1 h', '1H', 'abc', '1h abc', '1h-', '.5h', '1..5h', 'ms'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
