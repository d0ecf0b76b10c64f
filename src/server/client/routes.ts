import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ManagementRule } from '../auth/management.js';
import { badRequest } from '../errors.js';
import { parseOrThrow } from '../validation.js';
import {
  CLIENT_ID,
  CLIENT_ID_RULE,
  clientInputSchemaFor,
  listQuerySchema,
  oauth2ClientWithSecretSchema,
  type ClientInputOptions,
} from '../../contract/client.js';
import { responseJsonSchema } from '../../contract/json-schema.js';
import type { ClientService } from './service.js';
import type { StoredClient } from './store.js';

const SCOPE = 'hydra.clients';

/** Authorization of each route, enforced by the management hook (auth/management.ts) before the handler runs. */
// What each route answers, serialized by these schemas: a field they do not name (a secret hash) never leaves.
const CLIENT = responseJsonSchema(oauth2ClientWithSecretSchema);
const answers = {
  client: { schema: { response: { 200: CLIENT } } },
  created: { schema: { response: { 201: CLIENT } } },
  clients: { schema: { response: { 200: { type: 'array', items: CLIENT } } } },
};

function rules(clients: ClientService) {
  // The client a route is about: its id checked first (a malformed id is a 400 whoever asks), loaded once the caller
  // is authenticated, its owner the policy's context.
  const target = { id: clientIdParam, load: (id: string) => clients.findById(id) };
  const rule = (action: string, resource: ManagementRule['resource'], about = false): { management: ManagementRule } => ({
    management: { scope: SCOPE, action, resource, ...(about ? { target } : {}) },
  });
  return {
    create: rule('create', 'clients'),
    list: rule('get', 'clients'),
    get: rule('get', (id) => `clients:${id}`, true),
    // Hydra's resource for an update is the collection, not the client.
    update: rule('update', 'clients', true),
    delete: rule('delete', (id) => `clients:${id}`, true),
  };
}

export function clientRoutes(deps: { clients: ClientService } & Partial<ClientInputOptions>) {
  const { clients } = deps;
  const authorized = rules(clients);
  const inputOptions: ClientInputOptions = { allowHttpRedirectUris: deps.allowHttpRedirectUris ?? false };
  const clientInputSchema = clientInputSchemaFor(inputOptions);

  return async function plugin(app: FastifyInstance): Promise<void> {
    // Fastify parses text/plain by default (it is what a bare curl -d or fetch of a string sends); these endpoints
    // take JSON only, so such a body is a 415 rather than a confusing "expected object" 400.
    app.removeContentTypeParser('text/plain');
    // Some generated HTTP clients send `Content-Type: application/json` on every call, also on a DELETE or on the
    // body-less POST that mints a secret.
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (body === '' && (request.method === 'DELETE' || request.routeOptions.url === '/clients/secrets')) return done(null, undefined);
      return parseJson(request, body as string, done);
    });

    app.post('/clients', { config: authorized.create, ...answers.created }, async (request, reply) => {
      const input = parseOrThrow(clientInputSchema, request.body, 'client');
      const created = await clients.create(input);
      return reply
        .code(201)
        .header('Location', `/clients/${encodeURIComponent(created.id)}`)
        .send(created);
    });

    // A secret for a client that does not exist yet (the operator writes it to a Secret before registering the
    // client). Nothing is stored: the secret is stored when a client is created or updated with it.
    app.post('/clients/secrets', { config: authorized.create }, async (_request, reply) => {
      return reply.header('Cache-Control', 'no-store').send({ client_secret: clients.mintSecret() });
    });

    app.get('/clients', { config: authorized.list, ...answers.clients }, async (request, reply) => {
      const { limit, offset } = parseOrThrow(listQuerySchema, request.query, 'query');
      const page = await clients.list(limit, offset);
      reply.header('X-Total-Count', String(page.total));
      const links = pageLinks(request, limit, offset, page.total);
      if (links) reply.header('Link', links);
      return page.clients;
    });

    app.get('/clients/:id', { config: authorized.get, ...answers.client }, async (request) =>
      clients.view(clientIdParam(request), request.managedTarget as StoredClient | undefined),
    );

    app.put('/clients/:id', { config: authorized.update, ...answers.client }, async (request) => {
      const existing = request.managedTarget as StoredClient | undefined;
      // Only with stored redirect URIs that newer rules would refuse does the update need a schema of its own.
      const schema = existing?.redirect_uris.length ? clientInputSchemaFor({ ...inputOptions, alreadyStored: existing.redirect_uris }) : clientInputSchema;
      const input = parseOrThrow(schema, request.body, 'client');
      return clients.update(clientIdParam(request), input);
    });

    app.delete('/clients/:id', { config: authorized.delete }, async (request, reply: FastifyReply) => {
      await clients.delete(clientIdParam(request));
      return reply.code(204).send();
    });
  };
}

function clientIdParam(request: FastifyRequest): string {
  const { id } = request.params as { id: string };
  if (!CLIENT_ID.test(id)) throw badRequest(`"${id.slice(0, 64)}" is not a valid client id`, [{ field: 'id', message: CLIENT_ID_RULE }]);
  return id;
}

/** RFC 8288 Link header with first/prev/next/last, so any client can page without knowing our parameters. */
function pageLinks(request: FastifyRequest, limit: number, offset: number, total: number): string | undefined {
  const path = request.url.split('?')[0];
  const link = (rel: string, at: number) => `<${path}?limit=${limit}&offset=${at}>; rel="${rel}"`;
  const lastOffset = total === 0 ? 0 : Math.floor((total - 1) / limit) * limit;
  const parts = [link('first', 0)];
  if (offset > 0) parts.push(link('prev', Math.max(0, offset - limit)));
  if (offset + limit < total) parts.push(link('next', offset + limit));
  parts.push(link('last', lastOffset));
  return parts.join(', ');
}
