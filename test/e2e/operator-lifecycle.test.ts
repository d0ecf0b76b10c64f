import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseClient } from '../../src/sdk/client.js';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { credentialsOf, eventually, GROUP, Resources, tokenFor } from './helpers.js';

describe('operator: apply, edit, delete', () => {
  const kc = kubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let namespace: string;

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    namespace = await freshNamespace(kc, 'op');
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  it('creates the client and a Secret whose credentials get a token; follows edits; deletes the client with the resource', async () => {
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace,
      body: {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'OAuth2Client',
        metadata: { name: 'shop' },
        spec: { clientName: 'Shop', grantTypes: ['client_credentials'], scope: 'orders.read orders.write', secretName: 'shop-credentials' },
      },
    });
    const secret = await eventually('the Secret', async () => {
      const found = await core.readNamespacedSecret({ namespace, name: 'shop-credentials' });
      return found.data?.CLIENT_SECRET ? found : undefined;
    });
    const clientId = Buffer.from(secret.data!.CLIENT_ID!, 'base64').toString();
    const clientSecret = Buffer.from(secret.data!.CLIENT_SECRET!, 'base64').toString();
    const app = new GatehouseClient({ endpoint: server.url, clientId, clientSecret });
    const token = await eventually('a token with the Secret credentials', () => app.clientCredentialsToken('orders.read'));
    expect(await server.root.introspect(token.access_token)).toMatchObject({ active: true, client_id: clientId });

    await custom.patchNamespacedCustomObject(
      { ...GROUP, namespace, name: 'shop', body: { spec: { scope: 'orders.read' } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    await eventually('the scope change on the server', async () => ((await server.root.getClient(clientId)).scope === 'orders.read' ? true : undefined));

    await custom.deleteNamespacedCustomObject({ ...GROUP, namespace, name: 'shop' });
    await eventually('the client to be gone', async () => ((await server.root.findClient(clientId)) === undefined ? true : undefined));
    // deletionPolicy delete (the default) takes the Secret along, and the finalizer lets the resource go.
    await eventually('the Secret and the resource to be gone', async () => {
      const resources = new Resources(kc, namespace);
      return (await resources.secret('shop-credentials')) === undefined && (await resources.find('shop')) === undefined ? true : undefined;
    });
    await app.close();
  });

  it('deletionPolicy orphan keeps the client and the Secret; the same resource applied again takes both back', async () => {
    const resources = new Resources(kc, namespace);
    const spec = {
      clientName: 'Billing',
      grantTypes: ['client_credentials'],
      scope: 'invoices.read',
      secretName: 'billing-credentials',
      deletionPolicy: 'orphan',
    };
    const first = await resources.create('billing', spec);
    await resources.waitReady('billing');
    const secret = await resources.secret('billing-credentials');
    const credentials = credentialsOf(secret);
    const client = await server.root.getClient(credentials.clientId);
    expect(client.owner).toBe(`gatehouse.dev/${namespace}/billing`);

    await resources.delete('billing');
    await eventually('the resource to be gone', async () => ((await resources.find('billing')) === undefined ? true : undefined));
    // The client is still on the server, unchanged, and still authenticates with the secret in the Secret.
    expect(await server.root.getClient(credentials.clientId)).toEqual(client);
    await tokenFor(server.url, credentials, 'invoices.read');
    // The Secret stays, released: no owner reference to the deleted resource, and marked for the same resource.
    const orphaned = await resources.secret('billing-credentials');
    expect(orphaned, 'the orphaned Secret').toBeDefined();
    expect(orphaned!.data).toEqual(secret!.data);
    expect(orphaned!.metadata?.ownerReferences ?? []).not.toContainEqual(expect.objectContaining({ uid: first.metadata.uid }));
    expect(orphaned!.metadata?.annotations?.['gatehouse.dev/orphaned-from']).toBe(`gatehouse.dev/${namespace}/billing`);

    // Applied again (a new uid): the operator adopts the released Secret and the client, with the same credentials.
    const again = await resources.create('billing', spec);
    expect(again.metadata.uid).not.toBe(first.metadata.uid);
    const ready = await resources.waitReady('billing');
    expect(ready.status?.clientId).toBe(credentials.clientId);
    const adopted = await resources.secret('billing-credentials');
    expect(credentialsOf(adopted)).toEqual(credentials);
    expect(adopted!.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'OAuth2Client', uid: again.metadata.uid, controller: true })]);
    expect(adopted!.metadata?.annotations?.['gatehouse.dev/orphaned-from']).toBeUndefined();
    expect(await server.root.getClient(credentials.clientId)).toMatchObject({ owner: client.owner, scope: 'invoices.read', client_name: 'Billing' });
    await tokenFor(server.url, credentials, 'invoices.read');
    // Exactly one client on the server for this resource: nothing was created beside the orphaned one.
    const owned: string[] = [];
    for await (const c of server.root.allClients(100)) if (c.owner === client.owner) owned.push(c.id);
    expect(owned).toEqual([credentials.clientId]);
  });
});
