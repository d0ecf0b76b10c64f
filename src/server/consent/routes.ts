import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ManagementRule } from '../auth/management.js';
import { declared, type Operation } from '../openapi/declare.js';
import { apiError, jsonBodyErrors } from '../openapi/responses.js';
import {
  consentAcceptanceSchema,
  consentRejectionSchema,
  consentRequestSchema,
  type ConsentAcceptance,
  type ConsentRejection,
} from '../../contract/consent.js';
import { responseJsonSchema } from '../../contract/json-schema.js';
import type { ConsentService } from './service.js';
import type { ConsentRecord } from './store.js';

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const unusable = { 404: apiError('unknown consent request'), 410: apiError('the consent request expired or was already used') };
const decisionErrors = {
  ...jsonBodyErrors,
  400: apiError('the body is not valid JSON or not a valid decision (e.g. grantScopes beyond the requested scopes, reserved ID-token claims)'),
  ...unusable,
  409: apiError('the consent request was already accepted or rejected'),
};
const operations = {
  get: {
    operationId: 'getOAuth2ConsentRequest',
    summary: 'Read a consent request (scope hydra.consent, action get on oauth2:consent:requests:<id>)',
    parameters: [idParameter],
    responses: { 200: { description: 'the consent request' }, ...unusable },
  },
  accept: {
    operationId: 'acceptOAuth2ConsentRequest',
    summary: 'Accept a consent request: the subject, the granted scopes (a subset of the requested ones) and extra claims',
    parameters: [idParameter],
    responses: { 204: { description: 'accepted' }, ...decisionErrors },
  },
  reject: {
    operationId: 'rejectOAuth2ConsentRequest',
    summary: 'Reject a consent request; the client receives error=rejected_consent_request with the reason',
    parameters: [idParameter],
    responses: { 204: { description: 'rejected' }, ...decisionErrors },
  },
} satisfies Record<string, Operation>;

/** Hydra's consent API: scope hydra.consent, resource <prefix>:oauth2:consent:requests:<id>. */
export function consentRoutes(deps: { consent: ConsentService }) {
  const { consent } = deps;
  const rule = (action: string): ManagementRule => ({
    scope: 'hydra.consent',
    action,
    resource: (id) => `oauth2:consent:requests:${id}`,
    target: { id: idOf, load: (id) => consent.find(id) },
  });

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.removeContentTypeParser('text/plain');

    app.get(
      '/oauth2/consent/requests/:id',
      declared({ operation: operations.get, management: rule('get'), response: { 200: responseJsonSchema(consentRequestSchema, 'ConsentRequest') } }),
      async (request, reply) => reply.header('Cache-Control', 'no-store').send(consent.view(idOf(request), request.managedTarget as ConsentRecord | undefined)),
    );

    app.patch(
      '/oauth2/consent/requests/:id/accept',
      declared({
        operation: operations.accept,
        management: rule('accept'),
        body: { schema: consentAcceptanceSchema, what: 'consent acceptance', component: 'ConsentRequestAcceptance' },
      }),
      async (request, reply) => {
        await consent.accept(idOf(request), request.managedTarget as ConsentRecord | undefined, request.body as ConsentAcceptance);
        return reply.code(204).send();
      },
    );

    app.patch(
      '/oauth2/consent/requests/:id/reject',
      declared({
        operation: operations.reject,
        management: rule('reject'),
        body: { schema: consentRejectionSchema, what: 'consent rejection', component: 'ConsentRequestRejection', absent: {}, nullIsAbsent: true },
      }),
      async (request, reply) => {
        await consent.reject(idOf(request), request.managedTarget as ConsentRecord | undefined, request.body as ConsentRejection);
        return reply.code(204).send();
      },
    );
  };
}
