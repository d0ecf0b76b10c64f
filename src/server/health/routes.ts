import type { FastifyInstance } from 'fastify';
import { NotDurableError } from '../../db/wal-flusher.js';
import type { Metrics } from '../../observability/metrics.js';
import { declared } from '../openapi/declare.js';

const operations = {
  alive: { operationId: 'isInstanceAlive', summary: 'Liveness', responses: { 200: { description: 'alive' } } },
  ready: {
    operationId: 'isInstanceReady',
    summary: 'Readiness (checks the database)',
    responses: { 200: { description: 'ready' }, 503: { description: 'the database did not answer, or can no longer make changes durable' } },
  },
  metrics: { operationId: 'prometheusMetrics', summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } },
};

export function healthRoutes(deps: { checkDatabase: () => Promise<void>; metrics: Metrics }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/health/alive', declared({ operation: operations.alive }), async () => ({ status: 'ok' }));

    app.get('/health/ready', declared({ operation: operations.ready }), async (request, reply) => {
      try {
        await deps.checkDatabase();
        return { status: 'ok' };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        const reason = error instanceof NotDurableError ? error.message : 'the database did not answer';
        return reply.code(503).send({ status: 'unavailable', errors: { database: reason } });
      }
    });

    app.get('/metrics', declared({ operation: operations.metrics }), async (_request, reply) =>
      reply.header('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
    );
  };
}
