import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ManagementRule } from '../auth/management.js';
import { parseOrThrow } from '../validation.js';
import { consentAcceptanceSchema, consentRejectionSchema, consentRequestSchema } from '../../contract/consent.js';
import { responseJsonSchema } from '../../contract/json-schema.js';
import type { ConsentService } from './service.js';
import type { ConsentRecord } from './store.js';

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

/** Hydra's consent API: scope hydra.consent, resource <prefix>:oauth2:consent:requests:<id>. */
export function consentRoutes(deps: { consent: ConsentService }) {
  const { consent } = deps;
  const rule = (action: string): { management: ManagementRule } => ({
    management: {
      scope: 'hydra.consent',
      action,
      resource: (id) => `oauth2:consent:requests:${id}`,
      target: { id: idOf, load: (id) => consent.find(id) },
    },
  });

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.removeContentTypeParser('text/plain');

    app.get(
      '/oauth2/consent/requests/:id',
      { config: rule('get'), schema: { response: { 200: responseJsonSchema(consentRequestSchema) } } },
      async (request, reply) => reply.header('Cache-Control', 'no-store').send(consent.view(idOf(request), request.managedTarget as ConsentRecord | undefined)),
    );

    app.patch('/oauth2/consent/requests/:id/accept', { config: rule('accept') }, async (request, reply) => {
      const acceptance = parseOrThrow(consentAcceptanceSchema, request.body, 'consent acceptance');
      await consent.accept(idOf(request), request.managedTarget as ConsentRecord | undefined, acceptance);
      return reply.code(204).send();
    });

    app.patch('/oauth2/consent/requests/:id/reject', { config: rule('reject') }, async (request, reply) => {
      const rejection = parseOrThrow(consentRejectionSchema, request.body ?? {}, 'consent rejection');
      await consent.reject(idOf(request), request.managedTarget as ConsentRecord | undefined, rejection);
      return reply.code(204).send();
    });
  };
}
