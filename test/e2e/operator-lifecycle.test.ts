import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseClient } from '../../src/sdk/client.js';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';

const GROUP = { group: 'gatehouse.dev', version: 'v1alpha1', plural: 'oauth2clients' };

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

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
    await app.close();
  });
});
