import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createServer, type Server, type ServerOptions } from '../../src/server/app.js';
import { GatehouseClient } from '../../src/sdk/client.js';
import { createDatabase } from './postgres.js';

export type DatabaseKind = 'sqlite' | 'postgres';
export const DATABASES: DatabaseKind[] = ['sqlite', 'postgres'];

export const ROOT = { id: 'root', secret: 'root-secret-that-is-long-enough-0123456789' };
export const SYSTEM_SECRET = 'test-system-secret-0123456789';

export interface TestServer {
  url: string;
  server: Server;
  databaseUrl: string;
  /** An SDK authenticated as the root client. */
  root: GatehouseClient;
  close(): Promise<void>;
}

/** A database of the given kind that nobody else uses. */
export async function freshDatabaseUrl(kind: DatabaseKind): Promise<{ url: string; cleanup: () => void }> {
  if (kind === 'postgres') return { url: await createDatabase(inject('postgresUrl')), cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
  return { url: `sqlite://${join(dir, 'gatehouse.sqlite')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The real server, listening on a loopback port, against a fresh database of the given kind. */
export async function startTestServer(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  databaseUrl?: string,
  options: ServerOptions = {},
): Promise<TestServer> {
  const database = databaseUrl ? { url: databaseUrl, cleanup: () => {} } : await freshDatabaseUrl(kind);
  const config = loadConfig({
    DATABASE_URL: database.url,
    SYSTEM_SECRET,
    FORCE_ROOT_CLIENT_CREDENTIALS: `${ROOT.id}:${ROOT.secret}`,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ISSUER: 'http://127.0.0.1:4444',
    ...env,
  });
  const server = await createServer(config, { migrate: true, ...options });
  try {
    // PORT is 0 unless a caller needs a known port (e.g. for an ISSUER equal to the server's own URL).
    await server.app.listen({ port: config.PORT, host: '127.0.0.1' });
  } catch (error) {
    await server.close();
    if (!databaseUrl) database.cleanup();
    throw error;
  }
  const { port } = server.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const root = new GatehouseClient({ endpoint: url, clientId: ROOT.id, clientSecret: ROOT.secret });
  return {
    url,
    server,
    databaseUrl: database.url,
    root,
    async close() {
      await root.close();
      await server.close();
      database.cleanup();
    },
  };
}
