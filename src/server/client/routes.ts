import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ManagementRule } from '../auth/management.js';
import { badRequest } from '../errors.js';
import { declared, type Operation } from '../openapi/declare.js';
import { apiError, content, jsonBodyErrors, ref } from '../openapi/responses.js';
import { parseOrThrow } from '../validation.js';
import {
  CLIENT_ID,
  CLIENT_ID_RULE,
  clientInputSchemaFor,
  listQuerySchema,
  oauth2ClientWithSecretSchema,
  type ClientInput,
  type ClientInputOptions,
} from '../../contract/client.js';
import { responseJsonSchema } from '../../contract/json-schema.js';
import type { ClientService } from './service.js';
import type { StoredClient } from './store.js';

const SCOPE = 'hydra.clients';

// What each route answers, serialized by this schema: a field it does not name (a secret hash) never leaves.
const CLIENT = responseJsonSchema(oauth2ClientWithSecretSchema, 'OAuth2Client');
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: CLIENT_ID.source } };
const badId = { 400: apiError('the id is not a valid client id (1 to 255 of A-Z a-z 0-9 . _ ~ : @ + -, not "." or "..")') };
const unknownClient = { 404: apiError('unknown client') };

const operations = {
  create: {
    operationId: 'createOAuth2Client',
    summary: 'Create an OAuth 2.0 client',
    responses: { 201: { description: 'created; the secret is shown this once' }, ...jsonBodyErrors, 409: apiError('duplicate id') },
  },
  mintSecret: {
    operationId: 'mintOAuth2ClientSecret',
    summary:
      'Mint a client secret without storing it, for a client created later (needs scope hydra.clients and the create action on the clients resource). ' +
      'A minted secret is stored under a fast keyed hash when a client is created or updated with it; any other secret under scrypt.',
    responses: {
      200: {
        description: 'a fresh secret: gatehouse_cs_ followed by 256 random bits and a check value, base64url',
        content: content({
          type: 'object',
          properties: { client_secret: { type: 'string', pattern: '^gatehouse_cs_[A-Za-z0-9_-]{55}$' } },
          required: ['client_secret'],
        }),
      },
      // It takes no body, but one sent is still parsed first.
      ...jsonBodyErrors,
    },
  },
  list: {
    operationId: 'listOAuth2Clients',
    summary: 'List OAuth 2.0 clients, ordered by id (Link and X-Total-Count headers for paging)',
    responses: { 200: { description: 'a page of clients' }, 400: apiError('invalid paging') },
  },
  get: {
    operationId: 'getOAuth2Client',
    summary: 'Get an OAuth 2.0 client',
    parameters: [idParameter],
    responses: { 200: { description: 'the client, never with a secret' }, ...badId, ...unknownClient },
  },
  update: {
    operationId: 'updateOAuth2Client',
    summary: 'Replace an OAuth 2.0 client; the secret changes only when one is supplied, and an id in the body must be the one in the path',
    parameters: [idParameter],
    // Validated by the route itself: a client's stored redirect URIs stay acceptable in its update.
    requestBody: { required: true, content: content(ref('OAuth2ClientInput')) },
    responses: {
      200: { description: 'the updated client' },
      ...jsonBodyErrors,
      400: apiError('an invalid client id, or a body that is not valid JSON or not a valid client'),
      ...unknownClient,
      409: apiError('the update would leave no client able to manage clients'),
    },
  },
  delete: {
    operationId: 'deleteOAuth2Client',
    summary: 'Delete an OAuth 2.0 client and its tokens',
    parameters: [idParameter],
    responses: {
      204: { description: 'deleted' },
      ...jsonBodyErrors,
      400: apiError('an invalid client id, or a body sent along that is not valid JSON'),
      ...unknownClient,
      409: apiError('the last client able to manage clients'),
    },
  },
} satisfies Record<string, Operation>;

function rules(clients: ClientService) {
  // The client a route is about: its id checked first (a malformed id is a 400 whoever asks), loaded once the caller
  // is authenticated, its owner the policy's context.
  const target = { id: clientIdParam, load: (id: string) => clients.findById(id) };
  const rule = (action: string, resource: ManagementRule['resource'], about = false): ManagementRule => ({
    scope: SCOPE,
    action,
    resource,
    ...(about ? { target } : {}),
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
  const inputOptions: ClientInputOptions = {
    allowHttpRedirectUris: deps.allowHttpRedirectUris ?? false,
    ...(deps.maxIdTokenLifespanMs === undefined ? {} : { maxIdTokenLifespanMs: deps.maxIdTokenLifespanMs }),
  };
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

    app.post(
      '/clients',
      declared({
        operation: operations.create,
        management: authorized.create,
        body: { schema: clientInputSchema, what: 'client', component: 'OAuth2ClientInput' },
        response: { 201: CLIENT },
      }),
      async (request, reply) => {
        const created = await clients.create(request.body as ClientInput);
        return reply
          .code(201)
          .header('Location', `/clients/${encodeURIComponent(created.id)}`)
          .send(created);
      },
    );

    // A secret for a client that does not exist yet (the operator writes it to a Secret before registering the
    // client). Nothing is stored: the secret is stored when a client is created or updated with it.
    app.post('/clients/secrets', declared({ operation: operations.mintSecret, management: authorized.create }), async (_request, reply) => {
      return reply.header('Cache-Control', 'no-store').send({ client_secret: clients.mintSecret() });
    });

    app.get(
      '/clients',
      declared({
        operation: operations.list,
        management: authorized.list,
        query: { schema: listQuerySchema, what: 'query' },
        response: { 200: { type: 'array', items: CLIENT } },
      }),
      async (request, reply) => {
        const { limit, offset } = request.query as z.output<typeof listQuerySchema>;
        const page = await clients.list(limit, offset);
        reply.header('X-Total-Count', String(page.total));
        const links = pageLinks(request, limit, offset, page.total);
        if (links) reply.header('Link', links);
        return page.clients;
      },
    );

    app.get('/clients/:id', declared({ operation: operations.get, management: authorized.get, response: { 200: CLIENT } }), async (request) =>
      clients.view(clientIdParam(request), request.managedTarget as StoredClient | undefined),
    );

    app.put('/clients/:id', declared({ operation: operations.update, management: authorized.update, response: { 200: CLIENT } }), async (request) => {
      const existing = request.managedTarget as StoredClient | undefined;
      // Only with stored redirect URIs that newer rules would refuse does the update need a schema of its own.
      const schema = existing?.redirect_uris.length ? clientInputSchemaFor({ ...inputOptions, alreadyStored: existing.redirect_uris }) : clientInputSchema;
      const input = parseOrThrow(schema, request.body, 'client');
      return clients.update(clientIdParam(request), input);
    });

    app.delete('/clients/:id', declared({ operation: operations.delete, management: authorized.delete }), async (request, reply: FastifyReply) => {
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
