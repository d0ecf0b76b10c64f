// Ladon-style patterns: literal text with `<regex>` parts, matched as a whole (anchored) and case-sensitively.
const compiled = new Map<string, RegExp | string>();
const MAX_CACHED = 4096;

function compile(pattern: string): RegExp | string {
  if (!pattern.includes('<')) return pattern;
  let source = '';
  let i = 0;
  while (i < pattern.length) {
    const open = pattern.indexOf('<', i);
    if (open === -1) {
      source += escape(pattern.slice(i));
      break;
    }
    const close = findClose(pattern, open);
    if (close === -1) {
      source += escape(pattern.slice(i));
      break;
    }
    source += escape(pattern.slice(i, open)) + `(?:${pattern.slice(open + 1, close)})`;
    i = close + 1;
  }
  try {
    return new RegExp(`^${source}$`);
  } catch {
    // An unparsable pattern must never match anything, rather than break authorization for everybody.
    return /(?!)/;
  }
}

/** The `>` that closes the `<` at `open`, allowing nested `<…>` inside the regex (e.g. named groups). */
function findClose(pattern: string, open: number): number {
  let depth = 0;
  for (let j = open; j < pattern.length; j++) {
    if (pattern[j] === '<') depth++;
    else if (pattern[j] === '>' && --depth === 0) return j;
  }
  return -1;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function matchesPattern(pattern: string, value: string): boolean {
  let matcher = compiled.get(pattern);
  if (matcher === undefined) {
    matcher = compile(pattern);
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(pattern, matcher);
  }
  return typeof matcher === 'string' ? matcher === value : matcher.test(value);
}

export function matchesAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((pattern) => matchesPattern(pattern, value));
}
