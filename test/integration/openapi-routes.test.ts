// docs/openapi.json describes exactly what the server serves: every documented operation is a registered route,
// every registered route (bar the HEAD twins Fastify adds for GETs) is documented, each with its own operationId.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

interface Operation {
  operationId?: string;
}
const document = JSON.parse(readFileSync(fileURLToPath(new URL('../../docs/openapi.json', import.meta.url)), 'utf8')) as {
  paths: Record<string, Record<string, Operation | unknown[]>>;
};
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);
const documented = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => METHODS.has(method))
    .map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, operation: operation as Operation })),
);

describe('the OpenAPI document against the registered routes', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(async () => t?.close());

  it('documents every route the server registers, and nothing it does not serve', () => {
    const served = t.server.routes.filter((route) => route.method !== 'HEAD').map((route) => `${route.method} ${route.url}`);
    expect([...new Set(served)].sort()).toEqual(documented.map((operation) => operation.route).sort());
  });

  it('names every operation with its own operationId', () => {
    const ids = documented.map((operation) => operation.operation.operationId);
    expect(ids.filter((id) => typeof id !== 'string' || !/^[a-z][A-Za-z0-9]+$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
