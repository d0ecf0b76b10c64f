import { afterAll, describe, expect, inject, it } from 'vitest';
import { GatehouseClient } from '../../src/sdk/client.js';
import { GatehouseApiError } from '../../src/sdk/errors.js';
import { freePort } from '../support/free-port.js';
import { createDatabase } from '../support/postgres.js';
import { runCli, startServeProcess, type RunningProcess } from '../support/process.js';
import { ROOT, SYSTEM_SECRET } from '../support/server.js';

// Two replicas behind one PostgreSQL, as the Helm chart runs them: what one does, the other must see.
describe('two server processes sharing PostgreSQL', () => {
  const running: RunningProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((process) => process.stop('SIGKILL')));
  });

  it('refuses to serve an unmigrated database, then agrees on deletions within 2 seconds', async () => {
    const databaseUrl = await createDatabase(inject('postgresUrl'));
    const base = { DATABASE_URL: databaseUrl, SYSTEM_SECRET, FORCE_ROOT_CLIENT_CREDENTIALS: `${ROOT.id}:${ROOT.secret}`, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

    const [portA, portB] = [await freePort(), await freePort()];
    const early = await startServeProcess({ ...base, PORT: String(portA) }, `http://127.0.0.1:${portA}`, 10_000).catch((error: Error) => error);
    expect(early).toBeInstanceOf(Error);
    expect(String(early)).toContain('gatehouse migrate');

    const migrated = await runCli(['migrate'], { DATABASE_URL: databaseUrl });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('001_initial');

    for (const port of [portA, portB]) running.push(await startServeProcess({ ...base, PORT: String(port) }, `http://127.0.0.1:${port}`));
    const a = new GatehouseClient({ endpoint: `http://127.0.0.1:${portA}`, clientId: ROOT.id, clientSecret: ROOT.secret });
    const b = new GatehouseClient({ endpoint: `http://127.0.0.1:${portB}`, clientId: ROOT.id, clientSecret: ROOT.secret });

    const created = await a.createClient({ id: 'shared', grant_types: ['client_credentials'] });
    const credentials = { clientId: 'shared', clientSecret: created.client_secret! };
    // Authenticating on B fills B's cache of verified credentials; the deletion on A must still win.
    const token = await b.clientCredentialsToken(undefined, credentials);
    expect(await b.introspect(token.access_token)).toMatchObject({ active: true });

    await a.deleteClient('shared');
    const deletedAt = Date.now();
    let refused: unknown;
    while (!refused && Date.now() - deletedAt < 2_000) {
      refused = await b.clientCredentialsToken(undefined, credentials).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect(refused).toBeInstanceOf(GatehouseApiError);
    expect((refused as GatehouseApiError).status).toBe(401);
    expect(await b.introspect(token.access_token)).toEqual({ active: false });
    await Promise.all([a.close(), b.close()]);
  });
});
