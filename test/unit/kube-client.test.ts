// The operator's own Kubernetes client: which kubeconfigs it reads itself, how it calls, and how it reports refusals.
// A plain-HTTP API server stand-in records what arrives; TLS with client certificates is covered by the e2e suite
// against a real kube-apiserver.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KubeApiError, isNotFound, loadKubeClient, statusCodeOf } from '../../src/operator/runtime/kube-client.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

let server: Server;
let url: string;
const seen: Seen[] = [];
const dir = mkdtempSync(join(tmpdir(), 'kube-client-'));

function read(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => resolve(body));
  });
}

beforeAll(async () => {
  server = createServer((request, response) => {
    void read(request).then((body) => {
      seen.push({
        method: request.method!,
        url: request.url!,
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        body,
      });
      if (request.url!.includes('/missing')) {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'secrets "missing" not found', code: 404 }));
        return;
      }
      if (request.url!.includes('/garbled')) {
        response.writeHead(500).end('<html>proxy error</html>');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed: body ? JSON.parse(body) : null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  url = `http://127.0.0.1:${address.port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = join(dir, `config-${seen.length}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'test',
      contexts: [
        { name: 'other', context: { cluster: 'nowhere', user: 'nobody' } },
        { name: 'test', context: { cluster: 'local', user: 'me' } },
      ],
      clusters: [{ name: 'local', cluster: { server: `${url}/prefix/`, ...cluster } }],
      users: [{ name: 'me', user }],
    }),
  );
  return file;
}

describe('the operator’s kube client', () => {
  it('follows the current context and sends a bearer token, keeping a server path prefix', async () => {
    const kube = await loadKubeClient(kubeconfig({ token: 'the-token' }));
    expect(kube.server).toBe(`${url}/prefix`);
    await kube.request('GET', '/api/v1/namespaces/a/secrets/s', { query: { labelSelector: 'x=y', limit: undefined } });
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/prefix/api/v1/namespaces/a/secrets/s?labelSelector=x%3Dy', authorization: 'Bearer the-token' });
  });

  it('reads a token file relative to the kubeconfig, and basic credentials', async () => {
    writeFileSync(join(dir, 'token'), 'from-a-file\n');
    await (await loadKubeClient(kubeconfig({ tokenFile: 'token' }))).request('GET', '/x');
    expect(seen.at(-1)?.authorization).toBe('Bearer from-a-file');
    await (await loadKubeClient(kubeconfig({ username: 'admin', password: 'pw' }))).request('GET', '/x');
    expect(seen.at(-1)?.authorization).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
  });

  it('sends JSON bodies, and merge patches with their own content type', async () => {
    const kube = await loadKubeClient(kubeconfig({ token: 't' }));
    expect(await kube.request('POST', '/things', { body: { a: 1 } })).toEqual({ echoed: { a: 1 } });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', contentType: 'application/json', body: '{"a":1}' });
    await kube.request('PATCH', '/things/t/status', { body: { status: {} }, contentType: 'application/merge-patch+json' });
    expect(seen.at(-1)).toMatchObject({ method: 'PATCH', contentType: 'application/merge-patch+json' });
  });

  it('turns a refusal into a KubeApiError carrying the Status, readable as code or statusCode', async () => {
    const kube = await loadKubeClient(kubeconfig({ token: 't' }));
    const error = await kube.request('GET', '/missing').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ statusCode: 404, code: 404, status: { reason: 'NotFound' }, message: 'HTTP 404: secrets "missing" not found' });
    expect(isNotFound(error)).toBe(true);
    const garbled = await kube.request('GET', '/garbled').catch((caught: unknown) => caught);
    expect(garbled).toMatchObject({ statusCode: 500, status: undefined, message: 'HTTP 500: Internal Server Error' });
    expect(statusCodeOf(new Error('socket hang up'))).toBeUndefined();
  });

  it('opens streams that reject with the Status unless 200', async () => {
    const kube = await loadKubeClient(kubeconfig({ token: 't' }));
    const response = await kube.open('/watch', { watch: 'true' }, AbortSignal.timeout(5_000));
    expect(response.statusCode).toBe(200);
    response.resume();
    await expect(kube.open('/missing', {}, AbortSignal.timeout(5_000))).rejects.toMatchObject({ statusCode: 404 });
  });

  it('leaves credential plugins (exec) to client-node, and still makes the calls itself', async () => {
    const file = kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true', interactiveMode: 'Never' } });
    const kube = await loadKubeClient(file);
    expect(kube.server).toBe(`${url}/prefix`);
  });

  it('names the problem with a kubeconfig it cannot use', async () => {
    const noContext = join(dir, 'no-context');
    writeFileSync(noContext, stringify({ 'current-context': 'gone', contexts: [] }));
    await expect(loadKubeClient(noContext)).rejects.toThrow(`kubeconfig ${noContext}: no current context named "gone"`);
    const noServer = join(dir, 'no-server');
    writeFileSync(
      noServer,
      stringify({ 'current-context': 'c', contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }], clusters: [{ name: 'k', cluster: {} }] }),
    );
    await expect(loadKubeClient(noServer)).rejects.toThrow(`kubeconfig ${noServer}: the current context's cluster "k" has no server`);
    await expect(loadKubeClient(undefined, { HOME: dir })).rejects.toThrow(/no Kubernetes configuration/);
  });

  it('reads $KUBECONFIG when no file is given', async () => {
    const kube = await loadKubeClient(undefined, { KUBECONFIG: kubeconfig({ token: 'from-env' }) });
    await kube.request('GET', '/x');
    expect(seen.at(-1)?.authorization).toBe('Bearer from-env');
  });
});
