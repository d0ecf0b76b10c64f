// Validation of OAuth2Client manifests against the real API server and operator: what the CRD's OpenAPI schema and
// CEL rules can say is refused at apply time (422 with the rule's message); what they cannot ends as Ready=False with
// a reason and a message, while the operator keeps reconciling the other resources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envtestBinDir, freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { clientsOwnedBy, credentialsOf, GROUP, kubectl, mergePatch, refusal, Resources, sleep, tokenFor } from './helpers.js';

describe('operator: invalid manifests', () => {
  const kc = kubeConfig();
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let namespace: string;
  let resources: Resources;

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    namespace = await freshNamespace(kc, 'op-valid');
    resources = new Resources(kc, namespace);
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  const base = { grantTypes: ['client_credentials'], secretName: 'ok-credentials' };

  it.each([
    {
      what: 'a public client with the client_credentials grant',
      spec: { ...base, tokenEndpointAuthMethod: 'none' },
      message: 'a public client (tokenEndpointAuthMethod: none) cannot use the client_credentials grant',
    },
    {
      what: 'the implicit grant without a token response type',
      spec: { ...base, grantTypes: ['implicit'], responseTypes: ['code'], redirectUris: ['https://app.example/cb'] },
      message: 'the implicit grant needs a response type that contains token or id_token',
    },
    {
      what: 'authorization_code without redirectUris',
      spec: { ...base, grantTypes: ['authorization_code'] },
      message: 'the authorization_code and implicit grants need at least one redirect URI',
    },
    {
      what: 'a grant type outside the enum',
      spec: { ...base, grantTypes: ['password'] },
      message: 'spec.grantTypes[0]: Unsupported value: "password": supported values: "authorization_code", "refresh_token", "client_credentials", "implicit"',
    },
    {
      what: 'a deletionPolicy outside the enum',
      spec: { ...base, deletionPolicy: 'keep' },
      message: 'spec.deletionPolicy: Unsupported value: "keep": supported values: "delete", "orphan"',
    },
    {
      what: 'a secretName that is not a DNS subdomain',
      spec: { ...base, secretName: 'Shop_Credentials' },
      message:
        'spec.secretName: Invalid value: "string": must be a Kubernetes object name: lowercase letters, digits, - and ., starting and ending with a letter or digit',
    },
    {
      what: 'a Secret template with one key for id and secret',
      spec: { ...base, secretTemplate: { clientIdKey: 'ID', clientSecretKey: 'ID' } },
      message: 'clientIdKey and clientSecretKey must differ',
    },
    {
      what: 'a Secret template annotation the operator keeps its records in',
      spec: { ...base, secretTemplate: { annotations: { 'gatehouse.dev/rotated-at': '2099-01-01T00:00:00Z' } } },
      message: "must not set the operator's own annotations (gatehouse.dev/rotated-at",
    },
    {
      what: 'a redirect URI with a fragment',
      spec: { ...base, grantTypes: ['authorization_code'], redirectUris: ['https://app.example/cb#frag'] },
      message: 'spec.redirectUris[0]: Invalid value: "string": must be an absolute URI (scheme:…) without spaces or a fragment (#)',
    },
    {
      what: 'a scope with two spaces',
      spec: { ...base, scope: 'read  write' },
      message: 'spec.scope: Invalid value: "string": must be scope tokens separated by single spaces',
    },
    {
      what: 'a client id with a slash',
      spec: { ...base, clientId: 'team/app' },
      message: 'spec.clientId: Invalid value: "string": must be 1 to 255 characters',
    },
    {
      what: 'an extra key that would overwrite the client secret',
      spec: { ...base, secretTemplate: { extraKeys: { CLIENT_SECRET: 'issuerUrl' } } },
      message: 'extraKeys must not name the clientIdKey or clientSecretKey',
    },
  ])('refuses $what with 422 and the rule message', async ({ spec, message }) => {
    const refused = await refusal(resources.create('invalid', spec));
    expect(refused.code).toBe(422);
    expect(refused.message).toContain(message);
    expect(await resources.find('invalid')).toBeUndefined();
  });

  it('kubectl apply prints the CEL message and creates nothing', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'OAuth2Client',
      metadata: { name: 'public-cc', namespace },
      spec: { grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'none', secretName: 'public-cc' },
    });
    const result = await kubectl(envtestBinDir(), kubeconfigPath(), ['apply', '-f', '-'], manifest);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('The OAuth2Client "public-cc" is invalid');
    expect(result.stderr).toContain('a public client (tokenEndpointAuthMethod: none) cannot use the client_credentials grant');
    expect(await resources.find('public-cc')).toBeUndefined();
  });

  it('refuses a change of clientId after creation (CEL self == oldSelf) and keeps the original', async () => {
    await resources.create('fixed', { grantTypes: ['client_credentials'], clientId: 'fixed-client-1', secretName: 'fixed-credentials' });
    await resources.waitReady('fixed');
    const refused = await refusal(resources.patchSpec('fixed', { clientId: 'fixed-client-2' }));
    expect(refused.code).toBe(422);
    expect(refused.message).toContain('spec.clientId: Invalid value: "string": clientId is immutable');
    // A full update (PUT) is judged the same way as a patch.
    const current = await resources.get('fixed');
    const replaced = resources.custom.replaceNamespacedCustomObject({
      group: 'gatehouse.dev',
      version: 'v1alpha1',
      plural: 'oauth2clients',
      namespace,
      name: 'fixed',
      body: { ...current, spec: { ...current.spec, clientId: 'fixed-client-2' } },
    });
    expect(await refusal(replaced)).toMatchObject({ code: 422, message: expect.stringContaining('clientId is immutable') });
    expect((await resources.get('fixed')).spec.clientId).toBe('fixed-client-1');
    expect(credentialsOf(await resources.secret('fixed-credentials')).clientId).toBe('fixed-client-1');
    expect(await server.root.findClient('fixed-client-2')).toBeUndefined();
  });

  it('never refuses a write that leaves spec.clientId as it is, even where it differs from status.clientId', async () => {
    // Outside the operator's namespaces, so only the API server judges. Such a resource could exist from before the
    // rule (clientId added while another owner held that id); its status and finalizers must stay writable.
    const elsewhere = new Resources(kc, await freshNamespace(kc, 'op-valid-rule'));
    await elsewhere.create('legacy', { grantTypes: ['client_credentials'], clientId: 'legacy-a', secretName: 'legacy-credentials' });
    await elsewhere.custom.patchNamespacedCustomObjectStatus(
      { ...GROUP, namespace: elsewhere.namespace, name: 'legacy', body: { status: { clientId: 'legacy-b' } } },
      mergePatch,
    );
    await elsewhere.custom.patchNamespacedCustomObject(
      { ...GROUP, namespace: elsewhere.namespace, name: 'legacy', body: { metadata: { labels: { touched: 'yes' } } } },
      mergePatch,
    );
    expect((await elsewhere.get('legacy')).metadata.labels?.touched).toBe('yes');
    await elsewhere.delete('legacy');
  });

  it('kubectl explain describes the spec and every field of it; deletionPolicy defaults to delete', async () => {
    const explained = await kubectl(envtestBinDir(), kubeconfigPath(), ['explain', 'oauth2clients.spec']);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toContain('The client as the server should hold it');
    expect(explained.stdout).not.toContain('<no description>');
    for (const field of ['clientName', 'redirectUris', 'scope', 'logoUri', 'server', 'secretTemplate', 'audience', 'hydraAdmin', 'tokenLifespans'])
      expect(explained.stdout).toMatch(new RegExp(`^\\s+${field}\\s`, 'm'));
    const nested = await kubectl(envtestBinDir(), kubeconfigPath(), ['explain', 'oauth2clients.spec.secretTemplate']);
    expect(nested.stdout).not.toContain('<no description>');

    await resources.create('defaulted', { grantTypes: ['client_credentials'], secretName: 'defaulted-credentials' });
    expect((await resources.get('defaulted')).spec.deletionPolicy).toBe('delete');
  });

  it('refuses adding, changing or removing clientId once the resource has a client, and allows pinning the id it has', async () => {
    await resources.create('generated', { grantTypes: ['client_credentials'], secretName: 'generated-credentials' });
    await resources.waitReady('generated');
    const clientId = (await resources.get('generated')).status!.clientId!;
    const credentials = credentialsOf(await resources.secret('generated-credentials'));
    const rule = 'spec.clientId cannot be added, changed or removed once the resource has a client';

    const added = await refusal(resources.patchSpec('generated', { clientId: 'another-client' }));
    expect(added).toMatchObject({ code: 422, message: expect.stringContaining(rule) });
    // Naming the id it already has changes nothing, so it is allowed; taking it away again is not.
    await resources.patchSpec('generated', { clientId });
    const removed = await refusal(resources.patchSpec('generated', { clientId: null }));
    expect(removed).toMatchObject({ code: 422, message: expect.stringContaining(rule) });

    await resources.waitReady('generated');
    expect(credentialsOf(await resources.secret('generated-credentials'))).toEqual(credentials);
    expect(await server.root.findClient('another-client')).toBeUndefined();
    expect(await tokenFor(server.url, credentials)).toBeTruthy();
  });

  it('what the schema cannot catch ends as Ready=False with reason and message; the other resources still get reconciled', async () => {
    // 1. A server override whose credentials Secret does not exist.
    await resources.create('elsewhere', {
      grantTypes: ['client_credentials'],
      secretName: 'elsewhere-credentials',
      server: { url: server.url, credentialsSecretRef: { name: 'no-such-secret' } },
    });
    // 2. A client id that the server already has, owned by something else.
    const foreign = await server.root.createClient({
      id: 'taken-by-someone-else',
      client_name: 'Not ours',
      owner: 'someone-else',
      grant_types: ['client_credentials'],
      scope: 'theirs',
      client_secret: 'their-secret-0123456789abcdefghij',
    });
    const { client_secret: _secret, ...foreignClient } = foreign;
    await resources.create('squatter', {
      grantTypes: ['client_credentials'],
      clientId: 'taken-by-someone-else',
      scope: 'ours',
      secretName: 'squatter-credentials',
    });
    // 3. A valid resource created after both, in the same namespace.
    await resources.create('valid', { grantTypes: ['client_credentials'], scope: 'fine', secretName: 'valid-credentials' });

    const invalid = await resources.waitFor('elsewhere', 'False', 'InvalidSpec');
    expect(invalid.status?.conditions?.find((c) => c.type === 'Ready')?.message).toBe('spec.server.credentialsSecretRef: Secret no-such-secret does not exist');
    const conflict = await resources.waitFor('squatter', 'False', 'ClientConflict');
    expect(conflict.status?.conditions?.find((c) => c.type === 'Ready')?.message).toBe(
      'client taken-by-someone-else on the server belongs to "someone-else", not to this resource; it is left untouched',
    );
    const valid = await resources.waitReady('valid');
    const credentials = credentialsOf(await resources.secret('valid-credentials'));
    expect(valid.status?.clientId).toBe(credentials.clientId);
    await tokenFor(server.url, credentials, 'fine');

    // The failures are Events too, with the same reason.
    expect(await resources.events('elsewhere')).toContain('Warning InvalidSpec: spec.server.credentialsSecretRef: Secret no-such-secret does not exist');
    expect((await resources.events('squatter')).some((line) => line.startsWith('Warning ClientConflict: client taken-by-someone-else'))).toBe(true);

    // Some more reconciles of the failing ones (a spec edit queues them again) do not change the outcome.
    await resources.patchSpec('squatter', { scope: 'ours too' });
    await resources.waitFor('squatter', 'False', 'ClientConflict');
    await sleep(1_000);
    // The server's client is untouched, and neither failing resource got a Secret or a client of its own.
    expect(await server.root.getClient('taken-by-someone-else')).toEqual(foreignClient);
    await tokenFor(server.url, { clientId: 'taken-by-someone-else', clientSecret: 'their-secret-0123456789abcdefghij' }, 'theirs');
    expect(await resources.secret('squatter-credentials')).toBeUndefined();
    expect(await resources.secret('elsewhere-credentials')).toBeUndefined();
    expect(await clientsOwnedBy(server, namespace, 'squatter')).toEqual([]);
    expect(await clientsOwnedBy(server, namespace, 'elsewhere')).toEqual([]);

    // And the operator keeps going: a resource created now, and an edit of the valid one, are reconciled.
    await resources.create('later', { grantTypes: ['client_credentials'], secretName: 'later-credentials' });
    await resources.patchSpec('valid', { scope: 'fine finer' });
    await resources.waitReady('later');
    await resources.waitReady('valid');
    expect((await server.root.getClient(credentials.clientId)).scope).toBe('fine finer');

    // Fixing what was wrong makes the resource Ready without a restart: the credentials Secret appears.
    await resources.createSecret('no-such-secret', { CLIENT_ID: 'operator-root', CLIENT_SECRET: 'operator-root-secret-0123456789abcdefghij' });
    await resources.patchSpec('elsewhere', { scope: 'now' });
    await resources.waitReady('elsewhere');
    await tokenFor(server.url, credentialsOf(await resources.secret('elsewhere-credentials')), 'now');
  });
});
