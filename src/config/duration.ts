import { z } from 'zod';

// Durations are written the way Hydra's users know them (Go's time.ParseDuration): "1h", "10m", "1h30m", "90s".
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(total);
}

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

/** Like durationSetting, or "off" for 0: a periodic job that can be switched off. */
export function durationOrOffSetting(fallback: string) {
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
      return ms;
    });
}
