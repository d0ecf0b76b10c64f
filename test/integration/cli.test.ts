import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, runCli } from '../support/process.js';
import { ROOT, SYSTEM_SECRET, startTestServer, type TestServer } from '../support/server.js';

describe('gatehouse CLI against a running server', () => {
  let t: TestServer;
  let connection: Record<string, string>;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
    connection = { GATEHOUSE_ENDPOINT: t.url, GATEHOUSE_CLIENT_ID: ROOT.id, GATEHOUSE_CLIENT_SECRET: ROOT.secret };
  });
  afterAll(async () => t?.close());

  it('prints help for every command and exits 0', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['migrate', '--help'], ['clients', '--help'], ['token', '--help'], ['keys', '--help']]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage');
    }
  });

  it('prints its version and the Node.js version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(`gatehouse ${version} (node ${process.version})`);
    }
  });

  it('prints data as JSON, YAML or a table with -o, and refuses other formats', async () => {
    const created = await runCli(
      ['clients', 'create', '--id', 'formats', '--name', 'Formats app', '--grant-type', 'client_credentials', '--scope', 'reports', '-o', 'yaml'],
      connection,
    );
    expect(created.code, created.stderr).toBe(0);
    const client = parse(created.stdout) as { id: string; client_secret: string };
    expect(client).toMatchObject({ id: 'formats', client_name: 'Formats app', grant_types: ['client_credentials'] });
    expect(client.client_secret).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);

    const asJson = await runCli(['clients', 'get', 'formats', '--output', 'json'], connection);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ id: 'formats', scope: 'reports' });

    const table = await runCli(['clients', 'list', '-o', 'table'], connection);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^CLIENT ID\s+NAME\s+TYPE\s+GRANT TYPES\s+SCOPE$/);
    expect(rows).toContainEqual(expect.stringMatching(/^formats\s+Formats app\s+confidential\s+client_credentials\s+reports$/));

    const single = await runCli(['clients', 'get', 'formats', '-o', 'table'], connection);
    expect(single.stdout).toMatch(/^Client ID:\s+formats$/m);
    expect(single.stdout).not.toContain(client.client_secret);

    const token = await runCli(['token', 'client', '--scope', 'reports', '-o', 'table'], {
      ...connection,
      GATEHOUSE_CLIENT_ID: 'formats',
      GATEHOUSE_CLIENT_SECRET: client.client_secret,
    });
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/^Access token:\s+\S+$/m);
    expect(token.stdout).toMatch(/^Scope:\s+reports$/m);

    for (const args of [
      ['clients', 'list', '-o', 'xml'],
      ['token', 'client', '--output=wide'],
      ['keys', 'rotate', '-o', 'csv'],
    ]) {
      const bad = await runCli(args, connection);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/--output must be one of table, json, yaml; got "\w+"/);
    }
    await runCli(['clients', 'delete', 'formats'], connection);
  });

  // `script` runs the CLI on a pseudo-terminal: the one way to see the default a person gets.
  it.skipIf(spawnSync('script', ['--version']).error)('prints a table by default at a terminal', async () => {
    const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, BIN, 'clients', 'list'].map(quote).join(' ');
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...connection }, stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`script exited with ${code}: ${output}`))));
    });
    const lines = stdout.replaceAll('\r', '').trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CLIENT ID\s+NAME/);
    expect(lines).toContainEqual(expect.stringMatching(/^root\s+/));
  });

  it('manages a client through create, get, list, update and delete', async () => {
    const created = await runCli(
      [
        'clients',
        'create',
        '--id',
        'cli-app',
        '--name',
        'CLI app',
        '--grant-type',
        'client_credentials',
        '--scope',
        'reports',
        '--redirect-uri',
        'https://app.example/cb,https://app.example/cb2',
      ],
      connection,
    );
    expect(created.code, created.stderr).toBe(0);
    const client = JSON.parse(created.stdout) as { id: string; client_secret: string; redirect_uris: string[] };
    expect(client).toMatchObject({ id: 'cli-app', redirect_uris: ['https://app.example/cb', 'https://app.example/cb2'] });
    expect(client.client_secret).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);

    const fetched = await runCli(['clients', 'get', 'cli-app'], connection);
    expect(JSON.parse(fetched.stdout)).toMatchObject({ id: 'cli-app', client_name: 'CLI app' });
    expect(fetched.stdout).not.toContain('client_secret');

    const listed = await runCli(['clients', 'list', '--limit', '10'], connection);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((c) => c.id)).toContain('cli-app');

    const token = await runCli(['token', 'client', '--scope', 'reports'], {
      ...connection,
      GATEHOUSE_CLIENT_ID: 'cli-app',
      GATEHOUSE_CLIENT_SECRET: client.client_secret,
    });
    expect(token.code, token.stderr).toBe(0);
    expect(await t.root.introspect(token.stdout.trim())).toMatchObject({ active: true, sub: 'cli-app', scope: 'reports' });

    const updated = await runCli(['clients', 'update', 'cli-app', '--name', 'Renamed', '--grant-type', 'client_credentials'], connection);
    expect(JSON.parse(updated.stdout)).toMatchObject({ client_name: 'Renamed' });

    expect((await runCli(['clients', 'delete', 'cli-app'], connection)).code).toBe(0);
    const gone = await runCli(['clients', 'get', 'cli-app'], connection);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
    expect(gone.stderr).toContain('HTTP 404');
  });

  it('mints a secret that a client created with it authenticates with, bare for $(…) and as a document with -o', async () => {
    const minted = await runCli(['clients', 'mint-secret'], connection);
    expect(minted.code, minted.stderr).toBe(0);
    const secret = minted.stdout.trim();
    expect(secret).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);
    const asJson = await runCli(['clients', 'mint-secret', '-o', 'json'], connection);
    expect(JSON.parse(asJson.stdout)).toEqual({ client_secret: expect.stringMatching(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/) });
    const created = await runCli(
      ['clients', 'create', '--id', 'cli-minted', '--secret', secret, '--grant-type', 'client_credentials', '-o', 'json'],
      connection,
    );
    expect(created.code, created.stderr).toBe(0);
    const token = await runCli(['token', 'client'], { ...connection, GATEHOUSE_CLIENT_ID: 'cli-minted', GATEHOUSE_CLIENT_SECRET: secret });
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toContain('gatehouse_at_');
    const extra = await runCli(['clients', 'mint-secret', 'unexpected'], connection);
    expect(extra.code).not.toBe(0);
    expect(extra.stderr).toContain('unexpected argument');
  });

  it('reports mistakes as one line and a non-zero exit', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('gatehouse frobnicate: unknown command "frobnicate"; run `gatehouse --help`');

    const badFlag = await runCli(['clients', 'list', '--bogus'], connection);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--bogus');

    const invalid = await runCli(['clients', 'create', '--redirect-uri', 'not a uri'], connection);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr.trim().split('\n')).toHaveLength(1);
    expect(invalid.stderr).toContain('redirect_uris.0');

    const unreachable = await runCli(['clients', 'list'], { ...connection, GATEHOUSE_ENDPOINT: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach http://127.0.0.1:9');

    const noCredentials = await runCli(['token', 'client'], { GATEHOUSE_ENDPOINT: t.url, GATEHOUSE_CLIENT_ID: '', GATEHOUSE_CLIENT_SECRET: '' });
    expect(noCredentials.code).toBe(1);
    expect(noCredentials.stderr).toContain('clientId and clientSecret');
  });

  it('stops serve at start-up with a message naming the bad variable', async () => {
    const result = await runCli(['serve'], { DATABASE_URL: 'memory', PORT: 'eighty', ACCESS_TOKEN_LIFESPAN: 'forever' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('ACCESS_TOKEN_LIFESPAN');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('rotates the signing key and keeps the old public key published', async () => {
    const before = (await t.root.jwks()).keys.map((key) => key.kid);
    expect(before).toHaveLength(1);
    const rotated = await runCli(['keys', 'rotate'], { DATABASE_URL: t.databaseUrl, SYSTEM_SECRET });
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKid = /new signing key (\S+?);/.exec(rotated.stdout)?.[1];
    expect(newKid).toMatch(/^public:[0-9a-f-]{36}$/);
    // The server caches the key set for up to 5 s; wait for it to pick the rotation up.
    let kids: string[] = [];
    for (let i = 0; i < 70 && kids.length < 2; i++) {
      kids = (await t.root.jwks()).keys.map((key) => key.kid);
      if (kids.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(kids.sort()).toEqual([...before, newKid!].sort());

    const wrongSecret = await runCli(['keys', 'rotate'], { DATABASE_URL: t.databaseUrl, SYSTEM_SECRET: 'a-different-secret-entirely' });
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.stderr).toContain('SYSTEM_SECRET');

    const again = await runCli(['keys', 'rotate', '-o', 'json'], { DATABASE_URL: t.databaseUrl, SYSTEM_SECRET });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ kid: expect.stringMatching(/^public:/), retired: [newKid] });
  });
});
