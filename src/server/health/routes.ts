import type { FastifyInstance } from 'fastify';
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
        return reply.code(503).send({ status: 'unavailable', errors: { database: 'the database did not answer' } });
      }
    });

    app.get('/metrics', async (_request, reply) => reply.header('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  };
}
