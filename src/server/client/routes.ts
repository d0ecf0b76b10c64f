import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ManagementGuard } from '../auth/guard.js';
import { badRequest } from '../errors.js';
import { parseOrThrow } from '../validation.js';
import { CLIENT_ID, CLIENT_ID_RULE, clientInputSchemaFor, listQuerySchema, type ClientInputOptions } from '../../contract/client.js';
import type { ClientService } from './service.js';

const SCOPE = 'hydra.clients';

export function clientRoutes(deps: { clients: ClientService; guard: ManagementGuard } & Partial<ClientInputOptions>) {
  const { clients, guard } = deps;
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

    app.post('/clients', async (request, reply) => {
      await guard.require(request, { scope: SCOPE, resource: 'clients', action: 'create' });
      const input = parseOrThrow(clientInputSchema, request.body, 'client');
      const created = await clients.create(input);
      return reply
        .code(201)
        .header('Location', `/clients/${encodeURIComponent(created.id)}`)
        .send(created);
    });

    // A secret for a client that does not exist yet (the operator writes it to a Secret before registering the
    // client). Nothing is stored: the secret is stored when a client is created or updated with it.
    app.post('/clients/secrets', async (request, reply) => {
      await guard.require(request, { scope: SCOPE, resource: 'clients', action: 'create' });
      return reply.header('Cache-Control', 'no-store').send({ client_secret: clients.mintSecret() });
    });

    app.get('/clients', async (request, reply) => {
      await guard.require(request, { scope: SCOPE, resource: 'clients', action: 'get' });
      const { limit, offset } = parseOrThrow(listQuerySchema, request.query, 'query');
      const page = await clients.list(limit, offset);
      reply.header('X-Total-Count', String(page.total));
      const links = pageLinks(request, limit, offset, page.total);
      if (links) reply.header('Link', links);
      return page.clients;
    });

    app.get('/clients/:id', async (request) => {
      const id = clientIdParam(request);
      const caller = await guard.authenticate(request);
      const client = await clients.findById(id);
      await guard.authorize(request, caller, { scope: SCOPE, resource: `clients:${id}`, action: 'get', context: { owner: client?.owner } });
      return clients.get(id);
    });

    app.put('/clients/:id', async (request) => {
      const id = clientIdParam(request);
      const caller = await guard.authenticate(request);
      const existing = await clients.findById(id);
      await guard.authorize(request, caller, { scope: SCOPE, resource: 'clients', action: 'update', context: { owner: existing?.owner } });
      // Only with stored redirect URIs that newer rules would refuse does the update need a schema of its own.
      const schema = existing?.redirect_uris.length ? clientInputSchemaFor({ ...inputOptions, alreadyStored: existing.redirect_uris }) : clientInputSchema;
      const input = parseOrThrow(schema, request.body, 'client');
      return clients.update(id, input);
    });

    app.delete('/clients/:id', async (request, reply: FastifyReply) => {
      const id = clientIdParam(request);
      const caller = await guard.authenticate(request);
      const client = await clients.findById(id);
      await guard.authorize(request, caller, { scope: SCOPE, resource: `clients:${id}`, action: 'delete', context: { owner: client?.owner } });
      await clients.delete(id);
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
