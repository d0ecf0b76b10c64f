// Routes declare their response schemas (from src/contract/), and Fastify serializes exactly the fields those name:
// whatever a service returns, a field the contract does not name (here a stored secret hash) never reaches the wire.
// A stand-in service, since only the route's serialization is under test.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { aClient } from '../support/clients.js';
import { clientRoutes } from '../../src/server/client/routes.js';
import type { ClientService } from '../../src/server/client/service.js';

const client = aClient({ id: 'billing', client_name: 'Billing', grant_types: ['client_credentials'], scope: 'invoices.read' });
const leaky = { ...client, client_secret: 'shown-once', secretHash: '$scrypt$ln=14,r=8,p=5$c2FsdA$aGFzaA', internalNote: 'never on the wire' };

async function appAnswering(): Promise<ReturnType<typeof Fastify>> {
  const service = {
    create: async () => leaky,
    list: async () => ({ clients: [leaky], total: 1 }),
    findById: async () => leaky,
    view: () => leaky,
    update: async () => leaky,
  } as unknown as ClientService;
  const app = Fastify();
  await app.register(clientRoutes({ clients: service }));
  return app;
}

describe('response serialization from the contract', () => {
  it.each([
    ['POST', '/clients', { grant_types: ['client_credentials'], scope: 'invoices.read' }, 201],
    ['GET', '/clients/billing', undefined, 200],
    ['PUT', '/clients/billing', { grant_types: ['client_credentials'], scope: 'invoices.read' }, 200],
  ] as const)('%s %s answers only the fields the contract names', async (method, url, payload, status) => {
    const app = await appAnswering();
    const response = await app.inject({ method, url, ...(payload ? { payload } : {}) });
    expect(response.statusCode, response.body).toBe(status);
    const body = response.json() as Record<string, unknown>;
    expect(body).not.toHaveProperty('secretHash');
    expect(body).not.toHaveProperty('internalNote');
    expect(body).toMatchObject({ id: 'billing', client_secret: 'shown-once' });
    expect(response.body).not.toContain('$scrypt$');
    await app.close();
  });

  it('lists clients with the same filter on every item', async () => {
    const app = await appAnswering();
    const response = await app.inject({ method: 'GET', url: '/clients' });
    expect(response.statusCode, response.body).toBe(200);
    const [first] = response.json() as Record<string, unknown>[];
    expect(first).toMatchObject({ id: 'billing' });
    expect(first).not.toHaveProperty('secretHash');
    await app.close();
  });
});
