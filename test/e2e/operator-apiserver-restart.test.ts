// kube-apiserver restarted under a running operator: it recovers its watches (OAuth2Clients and the Secrets it
// manages) without a restart of its own. On a control plane of this file's own, so the shared one is not disturbed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { credentialsOf, eventually, Resources, tokenFor } from './helpers.js';

describe('operator: kube-apiserver restarted', () => {
  let controlPlane: ControlPlane;
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let resources: Resources;

  beforeAll(async () => {
    controlPlane = await startControlPlane();
    await applyCrds(controlPlane.kubeConfig);
    server = await startServer();
    const namespace = await freshNamespace(controlPlane.kubeConfig, 'op-restart');
    resources = new Resources(controlPlane.kubeConfig, namespace);
    // Without leader election: a leader that cannot renew for renewDeadline (10 s) steps down by design, which is
    // not what this test is about.
    operator = await startOperatorProcess({ kubeconfigPath: controlPlane.kubeconfigPath, serverUrl: server.url, namespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
    await controlPlane?.stop();
  });

  it('recovers its watches: a resource created after the restart becomes Ready, edits and Secret deletions are seen', async () => {
    await resources.create('before', { grantTypes: ['client_credentials'], scope: 'old', secretName: 'before-credentials' });
    const before = await resources.waitReady('before');
    const beforeId = before.status!.clientId!;

    // 5 s down, then the same etcd and port again: the operator's open watches break and must be re-established.
    await controlPlane.restartApiServer({ downtimeMs: 5_000 });
    const restartedAt = Date.now();
    expect(operator.child.exitCode, 'the operator survived the outage').toBeNull();

    await resources.create('after', { grantTypes: ['client_credentials'], scope: 'new', secretName: 'after-credentials' });
    const after = await resources.waitReady('after', 40_000);
    console.log(`kube-apiserver restart: a resource created after it was Ready ${Date.now() - restartedAt} ms after the restart`);
    const credentials = credentialsOf(await resources.secret('after-credentials'));
    expect(after.status?.clientId).toBe(credentials.clientId);
    await tokenFor(server.url, credentials, 'new');

    // Updates on the OAuth2Client watch.
    await resources.patchSpec('before', { scope: 'old new' });
    await eventually('the edit after the restart on the server', async () => ((await server.root.getClient(beforeId)).scope === 'old new' ? true : undefined));
    // Deletes on the Secret watch: the Secret comes back with the same client id and a working secret.
    const oldSecret = await resources.secret('before-credentials');
    await resources.deleteSecret('before-credentials');
    const recreated = await eventually('the deleted Secret re-created', async () => {
      const secret = await resources.secret('before-credentials');
      return secret && secret.metadata?.uid !== oldSecret?.metadata?.uid ? secret : undefined;
    });
    expect(credentialsOf(recreated).clientId).toBe(beforeId);
    await eventually('the re-created Secret to authenticate', async () => tokenFor(server.url, credentialsOf(recreated), 'old'));
    // Deletes on the OAuth2Client watch, through the finalizer.
    await resources.delete('after');
    await eventually('the client of the deleted resource gone', async () =>
      (await server.root.findClient(credentials.clientId)) === undefined ? true : undefined,
    );

    expect((await fetch(`http://127.0.0.1:${operator.healthPort}/readyz`)).status).toBe(200);
    expect(operator.child.exitCode).toBeNull();
  }, 120_000);
});
