import type { FastifyInstance } from 'fastify';
import { NotDurableError } from '../../db/wal-flusher.js';
import type { Metrics } from '../../observability/metrics.js';

export function healthRoutes(deps: { checkDatabase: () => Promise<void>; metrics: Metrics }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/health/alive', async () => ({ status: 'ok' }));

    app.get('/health/ready', async (request, reply) => {
      try {
        await deps.checkDatabase();
        return { status: 'ok' };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        const reason = error instanceof NotDurableError ? error.message : 'the database did not answer';
        return reply.code(503).send({ status: 'unavailable', errors: { database: reason } });
      }
    });

    app.get('/metrics', async (_request, reply) => reply.header('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  };
}
