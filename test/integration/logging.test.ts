import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { basic } from '../../src/sdk/client.js';
import { freePort } from '../support/free-port.js';
import { startServeProcess, type RunningProcess } from '../support/process.js';
import { startTestServer, ROOT, SYSTEM_SECRET, type TestServer } from '../support/server.js';

// Generous on purpose: lines are due within about a second; this only has to tell "soon" from "never".
const DEADLINE_MS = 5_000;

type Entry = Record<string, unknown>;

/** The JSON log lines in a process's stdout (the root client's credentials, if printed, are plain text). */
function entriesOf(stdout: string): Entry[] {
  return stdout.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Entry];
    } catch {
      return [];
    }
  });
}

async function eventually<T>(find: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} did not appear within ${DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('access logs', () => {
  let t: TestServer;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    t = await startTestServer('sqlite', {}, undefined, { logger: createLogger({ level: 'debug', format: 'json', destination: sink }) });
  });
  afterAll(async () => t?.close());

  it('carries the request id, honours a given X-Request-ID, and never contains a secret or token', async () => {
    const created = await t.root.createClient({ grant_types: ['client_credentials'], client_secret: 'a-secret-supplied-by-the-user-0123456789' });
    const tokenResponse = await fetch(`${t.url}/oauth2/token?client_secret=${encodeURIComponent(created.client_secret!)}`, {
      method: 'POST',
      headers: { authorization: basic(created.id, created.client_secret!), 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'trace-42' },
      body: 'grant_type=client_credentials',
    });
    expect(tokenResponse.headers.get('x-request-id')).toBe('trace-42');
    const { access_token } = (await tokenResponse.json()) as { access_token: string };
    await fetch(`${t.url}/oauth2/introspect`, {
      method: 'POST',
      headers: { authorization: basic(created.id, created.client_secret!), 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${access_token}`,
    });
    await fetch(`${t.url}/clients`, { headers: { authorization: `Bearer ${access_token}`, cookie: 'session=very-secret-cookie' } });
    // A header we do not accept as a request id is replaced, not echoed into the logs.
    const odd = await fetch(`${t.url}/health/alive`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const log = lines.join('\n');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.find((entry) => entry.reqId === 'trace-42')).toMatchObject({ route: '/oauth2/token', status: 200, path: '/oauth2/token' });
    expect(entries.filter((entry) => entry.msg === 'request completed').length).toBeGreaterThanOrEqual(5);
    for (const secret of [created.client_secret!, ROOT.secret, access_token, access_token.split('.')[1]!, 'very-secret-cookie']) {
      expect(log).not.toContain(secret);
    }
  });

  it('says why the HTTP parser refused a request, at debug level, without the raw request bytes that carry the credentials', async () => {
    const url = new URL(t.url);
    const credentials = basic('some-client', 'a-secret-in-an-oversized-request-0123456789');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST /oauth2/token HTTP/1.1\r\nhost: x\r\nauthorization: ${credentials}\r\nx-padding: ${'p'.repeat(20_000)}\r\n\r\n`);
      });
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    const refused = await eventually(
      () => lines.map((line) => JSON.parse(line) as Entry).find((entry) => entry.msg === 'refused a request the HTTP parser could not read'),
      'the debug line',
    );
    expect(refused).toMatchObject({ status: 431, code: 'HPE_HEADER_OVERFLOW' });
    expect(JSON.stringify(refused)).not.toMatch(/rawPacket|"data":\[/);
  });
});

describe('logs of the failed-authentication limit', () => {
  let t: TestServer;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    t = await startTestServer('sqlite', { AUTH_FAILURE_BURST: '2', AUTH_FAILURE_RATE: '0.01' }, undefined, {
      logger: createLogger({ level: 'info', format: 'json', destination: sink }),
    });
  });
  afterAll(async () => t?.close());

  it('writes one warning when a client id starts being refused, not one per refused attempt', async () => {
    const guess = () =>
      fetch(`${t.url}/oauth2/token`, {
        method: 'POST',
        headers: { authorization: basic('guessed-id', 'a-wrong-secret-long-enough-to-be-hashed'), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await guess()).status);
    expect(statuses.filter((status) => status === 429)).toHaveLength(10);
    await new Promise<void>((resolve) => t.server.logger.flush(() => resolve()));
    const warnings = lines.map((line) => JSON.parse(line) as Entry).filter((entry) => String(entry.msg).startsWith('client authentication throttled'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', limitedBy: 'client', retryAfterSeconds: expect.any(Number) as number });
  });
});

// The server's own stdout logger buffers lines (one access-log line per request is the hot path): they must still
// come out promptly on a quiet server, and none may be lost when it stops.
describe('gatehouse serve with JSON logs on stdout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-logs-'));
  let running: RunningProcess | undefined;
  let url = '';
  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    running = await startServeProcess(
      {
        DATABASE_URL: `sqlite://${join(dir, 'gatehouse.sqlite')}`,
        SYSTEM_SECRET,
        FORCE_ROOT_CLIENT_CREDENTIALS: `${ROOT.id}:${ROOT.secret}`,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
      },
      url,
    );
  });
  afterAll(async () => {
    await running?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the listening line and a request's access-log line within seconds, while it keeps running", async () => {
    const listening = await eventually(() => entriesOf(running!.output()).find((entry) => entry.msg === `Server listening at ${url}`), 'the listening line');
    expect(listening).toMatchObject({ level: 'info', service: 'gatehouse' });

    expect((await fetch(`${url}/health/alive`, { headers: { 'x-request-id': 'flush-probe-1' } })).status).toBe(200);
    const line = await eventually(() => entriesOf(running!.output()).find((entry) => entry.reqId === 'flush-probe-1'), 'the access-log line');
    expect(line).toMatchObject({ msg: 'request completed', path: '/health/alive', status: 200 });
    expect(running!.child.exitCode).toBeNull();
  });

  it('writes every line still buffered before it exits on SIGTERM', async () => {
    const ids = ['stop-probe-1', 'stop-probe-2', 'stop-probe-3'];
    for (const id of ids) expect((await fetch(`${url}/health/alive`, { headers: { 'x-request-id': id } })).status).toBe(200);
    // At once, so these lines are most likely still in the buffer rather than out with a periodic flush.
    expect(await running!.stop('SIGTERM')).toBe(0);
    const entries = entriesOf(running!.output());
    for (const id of ids)
      expect(
        entries.find((entry) => entry.reqId === id),
        id,
      ).toMatchObject({ msg: 'request completed' });
    expect(entries.find((entry) => entry.msg === 'shutting down')).toMatchObject({ signal: 'SIGTERM' });
  });
});

describe('the buffered stdout logger in a process of its own', () => {
  const compiled = fileURLToPath(new URL('../../dist/observability/logger.js', import.meta.url));

  /** Runs a script that logs one line through createLogger (the compiled one) and then does `then`. */
  function run(then: string): Promise<{ code: number | null; stdout: string; ms: number }> {
    const script = [
      `const { createLogger } = await import(${JSON.stringify(compiled)});`,
      `const log = createLogger({ level: 'info', format: 'json' });`,
      `log.info({ probe: true }, 'the only line');`,
      then,
    ].join('\n');
    const started = Date.now();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '--eval', script], { stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, ms: Date.now() - started }));
    });
  }

  it.each([
    ['ends on its own, not held open by the flush timer', '', 0],
    ['calls process.exit', 'process.exit(3);', 3],
    ['dies of an uncaught exception', "setTimeout(() => { throw new Error('boom'); }, 10);", 1],
  ])('writes the line when the process %s', async (_what, then, code) => {
    const result = await run(then);
    expect(result.code).toBe(code);
    expect(result.ms).toBeLessThan(DEADLINE_MS * 2);
    expect(entriesOf(result.stdout)).toEqual([expect.objectContaining({ msg: 'the only line', probe: true })]);
  });
});
