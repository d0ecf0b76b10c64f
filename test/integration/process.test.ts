import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatehouseClient } from '../../src/sdk/client.js';
import { freePort } from '../support/free-port.js';
import { startServeProcess, type RunningProcess } from '../support/process.js';

// The embedded default as a person runs it: no SYSTEM_SECRET, no forced root credentials.
describe('gatehouse serve on SQLite survives SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-process-'));
  let running: RunningProcess | undefined;
  afterAll(async () => {
    await running?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the client, its secret, the root client and the signing key across a crash', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { DATABASE_URL: `sqlite://${join(dir, 'gatehouse.sqlite')}`, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

    running = await startServeProcess(env, url);
    const printed = running.output();
    const rootId = /client id:\s+(\S+)/.exec(printed)?.[1];
    const rootSecret = /client secret:\s+(\S+)/.exec(printed)?.[1];
    expect(rootId, printed).toBeDefined();
    expect(rootSecret, printed).toMatch(/^gatehouse_cs_[A-Za-z0-9_-]{55}$/);
    expect(printed).toContain('Generated a system secret');

    const root = new GatehouseClient({ endpoint: url, clientId: rootId!, clientSecret: rootSecret! });
    const created = await root.createClient({ id: 'survivor', grant_types: ['client_credentials'], scope: 'jobs' });
    const keysBefore = await root.jwks();
    await root.close();
    expect(await running.stop('SIGKILL')).toBeNull();

    running = await startServeProcess(env, url);
    // Printed once: a restart neither creates another root client nor shows a secret again.
    expect(running.output()).not.toContain('client secret');
    expect(running.output()).not.toContain('Generated a system secret');

    const again = new GatehouseClient({ endpoint: url, clientId: rootId!, clientSecret: rootSecret! });
    expect(await again.getClient('survivor')).toMatchObject({ id: 'survivor', scope: 'jobs' });
    const token = await again.clientCredentialsToken('jobs', { clientId: 'survivor', clientSecret: created.client_secret! });
    expect(await again.introspect(token.access_token)).toMatchObject({ active: true, sub: 'survivor' });
    expect((await again.jwks()).keys.map((key) => key.kid)).toEqual(keysBefore.keys.map((key) => key.kid));
    await again.close();
  });
});
