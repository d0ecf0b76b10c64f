import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * /healthz (the process answers), /readyz (the given check) and, when given a registry, /metrics, on their own port as
 * controller-runtime does. Called with only a registry, it is the metrics listener of --metrics-bind-address.
 */
export function startHealthServer(options: { port: number; host: string | undefined; registry?: Registry; ready?: () => boolean }): Promise<Server> {
  const { registry, ready } = options;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (ready && path === '/healthz') return void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    if (ready && path === '/readyz') {
      const isReady = ready();
      return void response.writeHead(isReady ? 200 : 503, { 'content-type': 'text/plain' }).end(isReady ? 'ok' : 'not ready');
    }
    if (registry && path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
