import { stringify } from 'yaml';
import { UsageError } from './usage.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const outputOption = { output: { type: 'string', short: 'o' } } as const;

/**
 * The format asked for with -o; without it a person at a terminal gets a table and anything else (a pipe, a file, a
 * script) gets `piped`: what the command printed before -o existed, so scripts keep working.
 */
export function chooseFormat<P extends string>(flag: string | undefined, isTTY: boolean, piped: P): OutputFormat | P {
  if (flag === undefined) return isTTY ? 'table' : piped;
  if ((OUTPUT_FORMATS as readonly string[]).includes(flag)) return flag as OutputFormat;
  throw new UsageError(`--output must be one of ${OUTPUT_FORMATS.join(', ')}; got "${flag}"`);
}

/** Machine-readable renderings; the table is the command's own. */
export function serialize(format: 'json' | 'yaml', value: unknown): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}

const GAP = '   ';
const NONE = '<none>';

/** kubectl-style columns: upper-case headers, left-aligned cells, three spaces apart, no trailing blanks. */
export function renderTable(headers: string[], rows: string[][]): string {
  const lines = [headers.map((header) => header.toUpperCase()), ...rows.map((row) => headers.map((_, i) => cell(row[i])))];
  const widths = headers.map((_, i) => Math.max(...lines.map((line) => width(line[i]!))));
  return lines
    .map((line) =>
      line
        .map((text, i) => (i === line.length - 1 ? text : pad(text, widths[i]!)))
        .join(GAP)
        .trimEnd(),
    )
    .join('\n');
}

/** A `kubectl describe`-style listing of one object; a list value puts one item per line under the first. */
export function renderFields(fields: Array<[label: string, value: string | string[]]>): string {
  const labelWidth = Math.max(...fields.map(([label]) => width(label) + 1));
  return fields
    .flatMap(([label, value]) => {
      const items = (Array.isArray(value) ? value : [value]).map(cell).filter((item) => item !== NONE);
      const [first = NONE, ...more] = items;
      return [`${pad(`${label}:`, labelWidth)}${GAP}${first}`, ...more.map((item) => `${' '.repeat(labelWidth)}${GAP}${item}`)];
    })
    .join('\n');
}

// Values come from the server and may hold anything a client's owner typed: control characters would break the
// alignment or, worse, drive the terminal, so they are blanked.
function cell(value: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const text = (value ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  return text === '' ? NONE : text;
}

// Code points, not UTF-16 units, so a character outside the BMP counts once. Wide (CJK, emoji) characters still take two
// columns on screen; a width table is not worth it for client names.
const width = (text: string) => [...text].length;
const pad = (text: string, to: number) => text + ' '.repeat(Math.max(0, to - width(text)));
