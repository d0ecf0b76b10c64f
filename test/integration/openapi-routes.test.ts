// docs/openapi.json is generated from the routes a server registers (scripts/generated-files.ts; generated.test.ts
// fails when it is stale). Here: the document of a running server covers every route it serves and only those, each
// operation with its own operationId, and a route that would go undocumented stops the generation.
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declared, registerDeclaredInput } from '../../src/server/openapi/declare.js';
import { openApiDocument, type RegisteredRoute } from '../../src/server/openapi/document.js';
import { startTestServer, type TestServer } from '../support/server.js';

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);
type Document = ReturnType<typeof openApiDocument>;
const operationsOf = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => ({
        route: `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
        operation: operation as { operationId?: string; security?: unknown; responses: Record<string, unknown> },
      })),
  );

describe('the OpenAPI document generated from the registered routes', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
  });
  afterAll(async () => t?.close());

  it('documents every route the server registers, and nothing it does not serve', () => {
    const served = t.server.routes.filter((route) => route.method !== 'HEAD').map((route) => `${route.method} ${route.url}`);
    const documented = operationsOf(openApiDocument(t.server.routes)).map((operation) => operation.route);
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });

  it('is the committed docs/openapi.json', () => {
    const committed = JSON.parse(readFileSync(fileURLToPath(new URL('../../docs/openapi.json', import.meta.url)), 'utf8')) as unknown;
    expect(JSON.parse(JSON.stringify(openApiDocument(t.server.routes)))).toEqual(committed);
  });

  it('names every operation with its own operationId', () => {
    const ids = operationsOf(openApiDocument(t.server.routes)).map((operation) => operation.operation.operationId);
    expect(ids.filter((id) => typeof id !== 'string' || !/^[a-z][A-Za-z0-9]+$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents a management route as bearer-secured, with its 401 and 403', () => {
    const create = operationsOf(openApiDocument(t.server.routes)).find((operation) => operation.route === 'POST /clients')!.operation;
    expect(create.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '401', '403']));
  });
});

describe('generating the document', () => {
  const operation = { operationId: 'thing', summary: 'a thing', responses: { 200: { description: 'ok' } } };

  it('refuses a served route that declares no operation', () => {
    expect(() => openApiDocument([{ method: 'GET', url: '/undocumented' }])).toThrow('GET /undocumented is served but declares no OpenAPI operation');
  });

  it('refuses a response schema for a status the operation does not describe', () => {
    const route: RegisteredRoute = { method: 'GET', url: '/thing', config: { operation }, schema: { response: { 201: { type: 'object' } } } };
    expect(() => openApiDocument([route])).toThrow('GET /thing serializes a 201 its operation does not describe');
  });

  it('refuses two different schemas under one component name', () => {
    const answering = (url: string, schema: object): RegisteredRoute => ({ method: 'GET', url, config: { operation }, schema: { response: { 200: schema } } });
    expect(() => openApiDocument([answering('/a', { title: 'Thing', type: 'object' }), answering('/b', { title: 'Thing', type: 'string' })])).toThrow(
      'two different schemas are both named Thing',
    );
  });
});

describe('declared input', () => {
  it('is parsed before the handler, named in the refusal, and absent bodies stand for what the route says', async () => {
    const app = Fastify();
    registerDeclaredInput(app);
    const body = { schema: z.object({ size: z.number().int() }).strict(), what: 'thing', absent: { size: 1 } };
    app.post(
      '/things',
      declared({ operation: { operationId: 'createThing', summary: 's', responses: { 200: { description: 'ok' } } }, body }),
      async (request) => ({
        got: request.body,
      }),
    );
    app.post(
      '/lenient',
      declared({ operation: { operationId: 'createLenient', summary: 's', responses: { 200: { description: 'ok' } } }, body: { ...body, nullIsAbsent: true } }),
      async (request) => ({ got: request.body }),
    );
    app.setErrorHandler((error: Error & { statusCode?: number; reason?: string }, _request, reply) =>
      reply.code(error.statusCode ?? 500).send({ reason: error.reason ?? error.message }),
    );
    try {
      const ok = await app.inject({ method: 'POST', url: '/things', payload: { size: 3 } });
      expect(ok.json()).toEqual({ got: { size: 3 } });
      const absent = await app.inject({ method: 'POST', url: '/things' });
      expect(absent.json()).toEqual({ got: { size: 1 } });
      const bad = await app.inject({ method: 'POST', url: '/things', payload: { size: 'big', extra: 1 } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().reason).toMatch(/^invalid thing: size: .*; extra: unknown field\(s\)$/);
      // A JSON null is a body, refused, unless the route counts it as absent (the consent rejection does).
      const nullBody = { method: 'POST' as const, payload: 'null', headers: { 'content-type': 'application/json' } };
      expect((await app.inject({ ...nullBody, url: '/things' })).statusCode).toBe(400);
      expect((await app.inject({ ...nullBody, url: '/lenient' })).json()).toEqual({ got: { size: 1 } });
    } finally {
      await app.close();
    }
  });
});
