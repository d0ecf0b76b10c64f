import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseClient } from '../../src/sdk/client.js';
import { freePort } from '../support/free-port.js';
import { sqliteServeEnv, startServeProcess, type RunningProcess } from '../support/process.js';
import { schemathesisCommand } from '../support/schemathesis.js';
import { ROOT } from '../support/server.js';

const DOCUMENT = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));
const HOOKS_DIR = fileURLToPath(new URL('../contract', import.meta.url));
/** The run's time budget: schemathesis repeats fuzzing and stateful scenarios until it is spent. */
const FUZZ_SECONDS = Number(process.env.CONTRACT_FUZZ_SECONDS ?? 90);
/** Where the last run's report lands (gitignored), for a person who wants to read what was generated. */
const FUZZ_LOG = fileURLToPath(new URL('../../test-results/contract-fuzz.log', import.meta.url));
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance', 'negative_data_rejection'];

interface FuzzRun {
  code: number | null;
  output: string;
}

function runSchemathesis(st: string, url: string, env: Record<string, string>, reportDir: string): Promise<FuzzRun> {
  const args = [
    '--config-file',
    join(HOOKS_DIR, 'schemathesis.toml'),
    'run',
    DOCUMENT,
    '--url',
    url,
    '--checks',
    CHECKS.join(','),
    '--max-time',
    String(FUZZ_SECONDS),
    '--workers',
    '1',
    '--output-truncate',
    'true',
    '--report',
    'junit',
    '--report-dir',
    reportDir,
  ];
  mkdirSync(reportDir, { recursive: true });
  return new Promise((resolve) => {
    execFile(
      st,
      args,
      {
        env: { ...process.env, ...env, SCHEMATHESIS_HOOKS: 'schemathesis_hooks', PYTHONPATH: HOOKS_DIR, NO_COLOR: '1' },
        // Its example database (.schemathesis/) goes beside the report, not into the checkout.
        cwd: reportDir,
        timeout: (FUZZ_SECONDS + 240) * 1000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/** Requests the server answered per route and status, from its own metrics. */
async function answered(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^http_request_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1], label[2]]));
    const key = `${labels.method} ${labels.route} ${labels.status_code}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
  }
  return counts;
}

describe('contract fuzz: schemathesis against the running server and docs/openapi.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fuzz-'));
  let running: RunningProcess | undefined;
  let url: string;
  let st: string;
  let fuzzEnv: Record<string, string>;

  beforeAll(async () => {
    st = await schemathesisCommand();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    running = await startServeProcess(
      sqliteServeEnv(dir, port, {
        // Every fuzz request comes from one address: the limiter (tested on its own) must not turn the run into 429s.
        AUTH_FAILURE_BURST: '100000',
        AUTH_FAILURE_ADDRESS_BURST: '100000',
        AUTH_FAILURE_RATE: '100000',
      }),
      url,
    );
    const root = new GatehouseClient({ endpoint: url, clientId: ROOT.id, clientSecret: ROOT.secret });
    const fuzzClient = await root.createClient({ id: 'fuzz-client', grant_types: ['client_credentials'], scope: 'fuzz.read fuzz.write' });
    const bearer = await root.clientCredentialsToken('hydra.*');
    const live = await root.clientCredentialsToken('fuzz.read', { clientId: 'fuzz-client', clientSecret: fuzzClient.client_secret! });
    await root.close();
    fuzzEnv = {
      GATEHOUSE_FUZZ_BEARER: bearer.access_token,
      GATEHOUSE_FUZZ_CLIENT_ID: 'fuzz-client',
      GATEHOUSE_FUZZ_CLIENT_SECRET: fuzzClient.client_secret!,
      GATEHOUSE_FUZZ_TOKEN: live.access_token,
      GATEHOUSE_FUZZ_PROTECTED_IDS: [ROOT.id, 'fuzz-client'].join(','),
    };
  }, 420_000);

  afterAll(async () => {
    await running?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'finds no server error, no undocumented status code and no response outside its schema',
    async () => {
      const result = await runSchemathesis(st, url, fuzzEnv, join(dir, 'report'));
      // Schemathesis' report goes to a file, not the test log: its pytest-style closing line ("=== 3 warnings in
      // 90.00s ===") made log readers take the whole run for a pytest run that tested nothing. A failure still
      // carries the full report in its assertion message.
      mkdirSync(dirname(FUZZ_LOG), { recursive: true });
      writeFileSync(FUZZ_LOG, `${result.output}\n`);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toMatch(/Test cases:\s+\d+ generated/);

      // Not only refusals: valid token and introspection forms got through, and management calls were authorized.
      const counts = await answered(url);
      appendFileSync(FUZZ_LOG, `\nAnswered by route and status:\n${[...counts].map(([key, n]) => `${key}: ${n}`).join('\n')}\n`);
      expect(counts.get('POST /oauth2/token 200') ?? 0, JSON.stringify([...counts])).toBeGreaterThan(10);
      expect(counts.get('POST /oauth2/introspect 200') ?? 0, JSON.stringify([...counts])).toBeGreaterThan(10);
      expect(counts.get('POST /clients 201') ?? 0, JSON.stringify([...counts])).toBeGreaterThan(10);
      expect(counts.get('PUT /clients/:id 200') ?? 0, JSON.stringify([...counts])).toBeGreaterThan(0);
      expect(counts.get('DELETE /clients/:id 204') ?? 0, JSON.stringify([...counts])).toBeGreaterThan(0);
      // The root client is still there and still manages clients.
      const root = new GatehouseClient({ endpoint: url, clientId: ROOT.id, clientSecret: ROOT.secret });
      expect((await root.getClient(ROOT.id)).id).toBe(ROOT.id);
      await root.close();
    },
    (FUZZ_SECONDS + 300) * 1000,
  );
});
