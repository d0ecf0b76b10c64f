// What a new user meets beyond the happy path, against the real API server, operator and server: a user's Secret the
// server refuses says so and is picked up again the moment it is corrected (it is watched); a client deleted on the
// server comes back as Restored; adoption and orphaning are Events; an insecure redirect URI is a warning, not silence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { credentialsOf, eventually, readyOf, Resources, tokenFor } from './helpers.js';

describe('operator: rough edges a new user meets', () => {
  const kc = kubeConfig();
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let resources: Resources;

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    const namespace = await freshNamespace(kc, 'op-polish');
    resources = new Resources(kc, namespace);
    operator = await startOperatorProcess({
      kubeconfigPath: kubeconfigPath(),
      serverUrl: server.url,
      namespaces: [namespace],
      extraEnv: { DRIFT_CHECK_PERIOD: '2s' },
    });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  const eventLine = (name: string, reason: string) =>
    eventually(`a ${reason} Event`, async () => (await resources.events(name)).find((line) => line.includes(` ${reason}: `)));

  it('existingSecret with a secret the server refuses: SecretRefused with the reason; the corrected Secret is picked up within seconds', async () => {
    await resources.createSecret('vault-credentials', { CLIENT_ID: 'from-vault', CLIENT_SECRET: 'too-short' });
    await resources.create('vaulted', { grantTypes: ['client_credentials'], secretName: 'vault-credentials', existingSecret: true });
    const refused = await resources.waitFor('vaulted', 'False', 'SecretRefused');
    expect(readyOf(refused)?.message).toMatch(/^the server refused the client secret in Secret vault-credentials: .*at least 16 characters/);

    const corrected = 'a-long-enough-secret-from-the-vault';
    const changedAt = Date.now();
    const secret = (await resources.secret('vault-credentials'))!;
    await resources.core.replaceNamespacedSecret({
      namespace: resources.namespace,
      name: 'vault-credentials',
      body: { ...secret, data: { ...secret.data, CLIENT_SECRET: Buffer.from(corrected).toString('base64') } },
    });
    await resources.waitReady('vaulted', 10_000);
    // A watch, not the 5-minute resync: the correction lands within seconds.
    expect(Date.now() - changedAt).toBeLessThan(10_000);
    expect(await tokenFor(server.url, { clientId: 'from-vault', clientSecret: corrected })).toBeTruthy();
  });

  it('a client deleted on the server is re-created and reported as Restored, with the credentials unchanged', async () => {
    await resources.create('restored', { grantTypes: ['client_credentials'], secretName: 'restored-credentials' });
    const ready = await resources.waitReady('restored');
    const credentials = credentialsOf(await resources.secret('restored-credentials'));
    await server.root.deleteClient(ready.status!.clientId!);
    expect(await eventLine('restored', 'Restored')).toContain(`re-created client ${credentials.clientId} on the server, where it had been deleted`);
    expect((await resources.events('restored')).filter((line) => line.includes(' Created: '))).toHaveLength(1);
    expect(await tokenFor(server.url, credentials)).toBeTruthy();
  });

  it('adoption and orphaning are Events', async () => {
    await resources.createSecret('legacy-credentials', { unrelated: 'value' });
    await resources.create('adopter', { grantTypes: ['client_credentials'], secretName: 'legacy-credentials', adoptSecret: true, deletionPolicy: 'orphan' });
    await resources.waitReady('adopter');
    expect(await eventLine('adopter', 'Adopted')).toContain('took over Secret legacy-credentials (adoptSecret: true)');

    const clientId = (await resources.get('adopter')).status!.clientId!;
    await resources.delete('adopter');
    expect(await eventLine('adopter', 'Orphaned')).toContain(`left client ${clientId} on the server and Secret legacy-credentials in place`);
    expect(await server.root.findClient(clientId)).toBeDefined();
  });

  it('a plain-http redirect URI to another host than loopback: refused by the server, and a Warnings condition and Event say why', async () => {
    await resources.create('insecure', {
      grantTypes: ['authorization_code'],
      redirectUris: ['http://app.example.com/callback'],
      secretName: 'insecure-credentials',
    });
    const resource = await eventually('the Warnings condition', async () => {
      const current = await resources.get('insecure');
      return current.status?.conditions?.some((condition) => condition.type === 'Warnings') ? current : undefined;
    });
    expect(resource.status?.conditions?.find((condition) => condition.type === 'Warnings')).toMatchObject({
      status: 'True',
      reason: 'InsecureRedirectUris',
      message: expect.stringContaining('http://app.example.com/callback uses plain http'),
    });
    expect(readyOf(resource)?.status).toBe('False');
    expect(await eventLine('insecure', 'InsecureRedirectUris')).toContain('Warning InsecureRedirectUris');
  });

  it('grantTypes [client_credentials] with responseTypes [code]: Ready, with a Warnings condition and Event naming the unusable response type', async () => {
    await resources.create('mismatched', { grantTypes: ['client_credentials'], responseTypes: ['code'], secretName: 'mismatched-credentials' });
    const ready = await resources.waitReady('mismatched');
    expect(ready.status?.conditions?.find((condition) => condition.type === 'Warnings')).toMatchObject({
      status: 'True',
      reason: 'UnusableResponseTypes',
      message: 'response type code can never be used: code needs the authorization_code grant',
    });
    expect(await eventLine('mismatched', 'UnusableResponseTypes')).toContain('Warning UnusableResponseTypes');
  });
});
