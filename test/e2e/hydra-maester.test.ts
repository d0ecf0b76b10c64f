// Moving from hydra-maester: its three sample manifests (test/e2e/fixtures/hydra-maester, field for field with only
// the OAuth2Client's apiVersion changed) applied to the real API server and operator. Each reaches Ready, the server
// holds what their fields say, a pre-created Secret's credentials are the client's, and the fields a Gatehouse server
// has no meaning for are named in a condition and an Event. Each sample goes to a fresh namespace of this run instead
// of the one it names, so runs never collide.
import { readFileSync } from 'node:fs';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { credentialsOf, eventually, Resources, tokenFor, type Spec } from './helpers.js';

const FIXTURES = new URL('./fixtures/hydra-maester/', import.meta.url);
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Spec; data?: Record<string, string>; type?: string };

function manifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(new URL(file, FIXTURES), 'utf8'))
    .map((document) => document.toJSON() as Manifest | null)
    .filter((manifest): manifest is Manifest => Boolean(manifest));
}

describe('hydra-maester manifests', () => {
  const kc = kubeConfig();
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  const namespaces: Record<string, string> = {};

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    for (const sample of ['plain', 'user-credentials', 'custom-namespace']) namespaces[sample] = await freshNamespace(kc, `hm-${sample}`);
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: Object.values(namespaces) });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  /** Applies a sample's Secrets and OAuth2Client (its Namespace is this run's) and waits for Ready. */
  async function apply(file: string, sample: string) {
    const resources = new Resources(kc, namespaces[sample]!);
    const documents = manifests(file);
    for (const secret of documents.filter((manifest) => manifest.kind === 'Secret')) {
      await resources.core.createNamespacedSecret({
        namespace: resources.namespace,
        body: { ...(secret as V1Secret), metadata: { name: secret.metadata.name } },
      });
    }
    const client = documents.find((manifest) => manifest.kind === 'OAuth2Client')!;
    expect(client.apiVersion).toBe('gatehouse.dev/v1alpha1');
    await resources.create(client.metadata.name, client.spec!);
    const ready = await resources.waitReady(client.metadata.name);
    return { resources, client, ready, spec: client.spec as Record<string, unknown> };
  }

  it('the plain sample: Ready, the server holds its fields, and hydraAdmin is named as having no effect', async () => {
    const { resources, ready, spec } = await apply('oauth2client.yaml', 'plain');
    const credentials = credentialsOf(await resources.secret('my-secret-123'));
    const stored = await server.root.getClient(ready.status!.clientId!);
    expect(stored).toMatchObject({ scope: spec.scope, public: false });
    expect(new Set(stored.grant_types)).toEqual(new Set(spec.grantTypes as string[]));
    expect(new Set(stored.response_types)).toEqual(new Set(spec.responseTypes as string[]));
    expect(new Set(stored.redirect_uris)).toEqual(new Set(spec.redirectUris as string[]));
    expect(await tokenFor(server.url, credentials, 'read')).toBeTruthy();

    const warning = ready.status?.conditions?.find((condition) => condition.type === 'Warnings');
    expect(warning).toMatchObject({ status: 'True', reason: 'FieldsIgnored', message: expect.stringContaining('hydraAdmin') });
    const events = await eventually('the FieldsIgnored Event', async () =>
      (await resources.events('my-oauth2-client')).find((line) => line.includes('FieldsIgnored')),
    );
    expect(events).toContain('Warning FieldsIgnored: hydra-maester field hydraAdmin has no effect');
  });

  it('the user-credentials sample: the pre-created Secret (client_id, client_secret) is the client, and is never written', async () => {
    const { resources, ready } = await apply('oauth2client_user_credentials.yaml', 'user-credentials');
    const before = await resources.secret('my-secret-456');
    const credentials = credentialsOf(before, 'client_id', 'client_secret');
    expect(ready.status?.clientId).toBe(credentials.clientId);
    expect(await server.root.getClient(credentials.clientId)).toMatchObject({ id: credentials.clientId });
    expect(await tokenFor(server.url, credentials, 'write')).toBeTruthy();
    const after = await resources.secret('my-secret-456');
    expect(after?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
  });

  it('the custom-namespace sample: audience and post-logout redirect URIs reach the server; an empty hydraAdmin warns of nothing', async () => {
    const { resources, ready, spec } = await apply('oauth2client_custom_namespace.yaml', 'custom-namespace');
    const credentials = credentialsOf(await resources.secret('my-secret-123'), 'client_id', 'client_secret');
    expect(ready.status?.clientId).toBe(credentials.clientId);
    const stored = (await server.root.getClient(credentials.clientId)) as unknown as Record<string, unknown>;
    expect(stored.audience).toEqual(spec.audience);
    expect(stored.post_logout_redirect_uris).toEqual(spec.postLogoutRedirectUris);
    expect(await tokenFor(server.url, credentials)).toBeTruthy();
    expect(ready.status?.conditions?.find((condition) => condition.type === 'Warnings')).toBeUndefined();
  });
});
