import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const repository = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Another package depending on gatehouse: its node_modules/gatehouse is this checkout (as `npm install` of a local
 * path makes it), so only what package.json's exports map offers can be imported, compiled from dist/.
 */
describe('the SDK as another package imports it (gatehouse/sdk)', () => {
  let consumer: string;
  let t: TestServer;
  beforeAll(async () => {
    consumer = mkdtempSync(join(tmpdir(), 'gatehouse-consumer-'));
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(repository, join(consumer, 'node_modules/gatehouse'), 'dir');
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    t = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await t?.close();
    rmSync(consumer, { recursive: true, force: true });
  });

  it('imports the SDK by its public name and talks to a real server with it', async () => {
    const script = `
      import { GatehouseClient, GatehouseApiError } from 'gatehouse/sdk';
      const client = new GatehouseClient({ endpoint: process.env.URL, clientId: process.env.ID, clientSecret: process.env.SECRET });
      const page = await client.listClients({ limit: 10 });
      console.log(JSON.stringify({ ids: page.clients.map((c) => c.id), errorClass: typeof GatehouseApiError }));`;
    writeFileSync(join(consumer, 'use.mjs'), script);
    const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: consumer, env: { ...process.env, URL: t.url, ID: ROOT.id, SECRET: ROOT.secret } });
    expect(JSON.parse(stdout)).toEqual({ ids: [ROOT.id], errorClass: 'function' });
  });

  it('refuses the internals: only the exported entry points resolve', async () => {
    writeFileSync(join(consumer, 'deep.mjs'), `await import('gatehouse/dist/server/app.js');`);
    const failure = await run(process.execPath, ['deep.mjs'], { cwd: consumer }).catch((error: { stderr: string }) => error);
    expect(failure.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('ships type declarations a TypeScript consumer compiles against', async () => {
    writeFileSync(
      join(consumer, 'typed.ts'),
      `import { GatehouseClient, type OAuth2Client } from 'gatehouse/sdk';\n` +
        `const client: GatehouseClient = new GatehouseClient({ endpoint: 'http://localhost:4444', clientId: 'a', clientSecret: 'b' });\n` +
        `export const first: Promise<OAuth2Client> = client.getClient('x');\n` +
        `// @ts-expect-error: the SDK's types are strict, so a wrong argument must not compile\n` +
        `client.getClient(42);\n`,
    );
    const tsc = join(repository, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'typed.ts'];
    const result = await run(process.execPath, [tsc, ...flags], { cwd: consumer }).catch((error: { stdout: string }) => error);
    expect(result.stdout).toBe('');
  });
});
