import { chartFiles } from './chart-files.js';
import { crdManifests } from './crd-manifests.js';
import { loadConfig } from '../src/config/load.js';
import { createServer } from '../src/server/app.js';
import { openApiDocument } from '../src/server/openapi/document.js';

/** Path (relative to the repository root) → exact file content. */
export async function generatedFiles(): Promise<Record<string, string>> {
  return {
    'docs/openapi.json': `${JSON.stringify(await servedDocument(), null, 2)}\n`,
    ...crdManifests(),
    ...chartFiles(),
  };
}

/** The OpenAPI document of the routes a server registers, from a server started in memory for the purpose. */
async function servedDocument() {
  const server = await createServer(loadConfig({ DATABASE_URL: 'memory', LOG_LEVEL: 'silent', JANITOR_INTERVAL: 'off', IDLE_GC_AFTER: 'off' }));
  try {
    await server.app.ready();
    return openApiDocument(server.routes);
  } finally {
    await server.close();
  }
}
