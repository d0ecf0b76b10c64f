import { z } from 'zod';
import { formatMs, parseDuration } from '../contract/duration.js';

export { parseDuration };

/** A zod setting holding a duration, e.g. "5m", turned into milliseconds; refuses zero and garbage with a clear message. */
export function durationSetting(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a positive duration such as 1h, 10m or 30s` });
        return z.NEVER;
      }
      return ms;
    });
}

/** Longest period a timer can have: Node runs a longer setInterval every millisecond instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Like durationSetting, or "off" for 0: a periodic job that can be switched off. `min` and `max` (milliseconds) bound
 * the period; `max` never exceeds what a timer can hold.
 */
export function durationOrOffSetting(fallback: string, bounds: { min?: number; max?: number } = {}) {
  const min = bounds.min ?? 1;
  const max = Math.min(bounds.max ?? MAX_TIMER_MS, MAX_TIMER_MS);
  return z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      if (text.trim() === 'off') return 0;
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a positive duration such as 10m, or off` });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is outside ${formatMs(min)} to ${formatMs(max)}, or off` });
        return z.NEVER;
      }
      return ms;
    });
}
