import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CLIENT_COUNT, CREATE_MINTED_TARGET } from './scenarios.js';
import { describeCreation, describeMemory, historyLine, machineLine, type Baseline, type RunInfo, type RunSummary } from './report.js';

const START = '<!-- server:start -->';
const END = '<!-- server:end -->';
const DATA = /<!-- server-bench-data: (.*?) -->/s;
const HISTORY_LIMIT = 30;

/**
 * Rewrites only the server section of docs/benchmarks.md: other sections belong to other harnesses and are kept
 * byte for byte. The runs so far travel in a JSON comment, so the history is rebuilt from data, not parsed prose.
 */
export function writeServerSection(path: string, info: RunInfo, table: string, baseline: Baseline, summary: RunSummary): void {
  rewriteSection<RunSummary>(path, { start: START, end: END, data: DATA }, (previous) =>
    render(info, table, baseline, [summary, ...previous].slice(0, HISTORY_LIMIT + 1)),
  );
}

export interface SectionMarkers {
  start: string;
  end: string;
  /** Matches the section's JSON comment of earlier runs; its first group is the JSON. */
  data: RegExp;
}

/**
 * Replaces one harness's section of a Markdown file, reading the file at the last moment, or appends it; `render`
 * gets the runs recorded in the section so far. Everything outside the markers is kept byte for byte.
 */
export function rewriteSection<T>(path: string, markers: SectionMarkers, render: (previous: T[]) => string): void {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const start = current.indexOf(markers.start);
  const end = current.indexOf(markers.end);
  const hasSection = start !== -1 && end > start;
  const section = render(hasSection ? previousRunsIn<T>(current.slice(start, end), markers.data) : []);
  let next: string;
  if (hasSection) next = current.slice(0, start) + section + current.slice(end + markers.end.length);
  else if (current.trim()) next = `${current.trimEnd()}\n\n${section}\n`;
  else next = `# Benchmarks\n\n${section}\n`;
  writeFileSync(path, next);
}

/** The runs recorded in a section's JSON comment (matched by `pattern`); none when absent or hand-edited beyond repair. */
export function previousRunsIn<T>(section: string, pattern: RegExp): T[] {
  const match = pattern.exec(section);
  if (!match) return [];
  try {
    const data = JSON.parse(match[1]!) as { runs?: T[] };
    return Array.isArray(data.runs) ? data.runs : [];
  } catch {
    // A hand-edited comment should not stop a benchmark from being recorded; the history restarts instead.
    return [];
  }
}

function render(info: RunInfo, table: string, baseline: Baseline, runs: RunSummary[]): string {
  const busy = info.loadAverage >= 0.5 ? ' — the machine was already busy, so these figures are depressed' : '';
  const drift =
    baseline.drift > 0.15
      ? `\n\nThe bare server's requests/s moved by ${(baseline.drift * 100).toFixed(0)} % between the first and the last measurement: the machine's load changed during the run, so treat the ratios with care.`
      : '';
  const history = runs.slice(1).map(historyLine);
  // "--" would end the HTML comment early; JSON reads the escaped form back unchanged.
  const data = JSON.stringify({ runs }).replace(/--/g, '-\\u002d');
  return [
    START,
    '## Authorization server (`npm run bench`)',
    '',
    `Latest run: ${info.date} · commit \`${info.commit}\` · ${machineLine(info)} · load average ${info.loadAverage.toFixed(2)} before the run${busy}.`,
    '',
    table,
    '',
    `"vs bare" divides by the mean of the two bare-server measurements (${Math.round(baseline.requestsPerSecond).toLocaleString('en-US')} req/s), taken first and last.${drift}`,
    '',
    ...(runs[0]?.memory
      ? [
          `**Memory** of \`gatehouse serve\` after ${runs[0].afterCreation ? 'the read scenarios' : 'all scenarios'}: ${describeMemory(runs[0].memory)}.` +
            (runs[0].afterCreation ? ` After the creation scenarios: ${describeCreation(runs[0].afterCreation)}.` : ''),
          '',
        ]
      : []),
    '**Method.** `npm run bench` builds dist/ if it is stale, then starts each server in its own child process on the same machine: a bare',
    'Node `http` server answering a constant JSON, and `gatehouse serve` from dist/ on a fresh SQLite database in a temporary',
    `directory, holding ${CLIENT_COUNT} clients (the root client, one confidential machine client, the rest public). Gatehouse runs with`,
    'its default `LOG_LEVEL=info`, so it writes one JSON access-log line per request; the harness drains that pipe and drops it,',
    'so logging costs what it costs in production. Load comes from autocannon in a separate process',
    `(${info.connections} keep-alive connections, no pipelining), ${info.warmupSeconds} s of warm-up and then ${info.durationSeconds} s measured per scenario.`,
    "The load generator shares the CPUs with the server, as the targets assume. Requests/s is autocannon's mean of its",
    'per-second samples; latencies are whole milliseconds (`<1` is below one). "Server CPU" is the user + system time of',
    'the answering process (from /proc) while measured: per request it moves far less than requests/s when other work',
    'competes for the CPUs, and a share well below 100 % means the server was not the bottleneck (the bare server is limited by the load generator).',
    'Between runs the harness waits until the server has stopped using CPU, so work still queued when autocannon stops is charged to no scenario.',
    'The two creation scenarios run last, since each request adds a client: the root client POSTs the same JSON body',
    '(a confidential `client_credentials` client, no id, so the server generates one) with a bearer token, once without',
    '`client_secret` (the server mints a `gatehouse_cs_` secret and stores it under its fast keyed HMAC) and once with the same',
    'supplied 43-character secret, which the server did not mint and so stores under scrypt. A creation counts only when',
    `answered 201. The ≥ ${CREATE_MINTED_TARGET.toLocaleString('en-US')}/s target of the minted case is absolute; Ory Hydra v2 created 211–240 clients/s on this kind of machine.`,
    'Any non-2xx response (any other status than 201 for a creation) or connection error, during warm-up or measurement, is flagged and the run fails without updating',
    'this file. `BENCH_DURATION`, `BENCH_WARMUP` and `BENCH_CONNECTIONS` change the durations and connections;',
    '`npm run bench -- --help` lists the diagnostic switches (profiling, another log level), whose runs are never recorded here.',
    '',
    '### History',
    '',
    ...(history.length ? history : ['(no earlier runs)']),
    '',
    `<!-- server-bench-data: ${data} -->`,
    END,
  ].join('\n');
}
