// GitOps tools judge resources by kstatus (Flux's health checks, kpt): these run sigs.k8s.io/cli-utils' own rules
// (tools/envtest/kstatus) on live OAuth2Client and KeyPolicy objects written by the real operator, so a resource
// still being worked on never reads as healthy, and one that needs a person reads as failed at once.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kstatusBinaryName } from '../../tools/envtest/assets.js';
import { envtestBinDir, freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds, startOperatorProcess, startServer, type OperatorProcess, type ServerUnderTest } from '../support/operator-stack.js';
import { eventually, kubectl, Resources } from './helpers.js';

type Verdict = { kind: string; name: string; status: string; message: string };

/** kstatus verdicts of every object of a type in the namespace, by name. */
async function kstatusOf(namespace: string, type: string): Promise<Record<string, Verdict>> {
  const listed = await kubectl(envtestBinDir(), kubeconfigPath(), ['get', type, '-n', namespace, '-o', 'json']);
  if (listed.code !== 0) throw new Error(`kubectl get ${type}: ${listed.stderr}`);
  const output = await new Promise<string>((resolve, reject) => {
    const child = execFile(join(envtestBinDir(), kstatusBinaryName()), [], (error, stdout, stderr) =>
      error ? reject(new Error(`kstatus: ${stderr}`)) : resolve(stdout),
    );
    child.stdin!.end(listed.stdout);
  });
  return Object.fromEntries((JSON.parse(output) as Verdict[]).map((verdict) => [verdict.name, verdict]));
}

describe('kstatus reads OAuth2Client and KeyPolicy status as the operator means it', () => {
  const kc = kubeConfig();
  let server: ServerUnderTest;
  let operator: OperatorProcess;
  let resources: Resources;

  beforeAll(async () => {
    await applyCrds(kc);
    server = await startServer();
    const namespace = await freshNamespace(kc, 'kstatus');
    resources = new Resources(kc, namespace);
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
    await server?.stop();
  });

  it('Ready → Current; waiting for a user Secret → InProgress; a Secret the server refuses → Failed; and back to Current once fixed', async () => {
    await resources.create('ready', { grantTypes: ['client_credentials'], secretName: 'ready-credentials' });
    await resources.create('waiting', { grantTypes: ['client_credentials'], secretName: 'not-there-yet', existingSecret: true });
    await resources.createSecret('short-credentials', { CLIENT_ID: 'short', CLIENT_SECRET: 'too-short' });
    await resources.create('refused', { grantTypes: ['client_credentials'], secretName: 'short-credentials', existingSecret: true });
    await resources.waitReady('ready');
    await resources.waitFor('waiting', 'False', 'WaitingForSecret');
    await resources.waitFor('refused', 'False', 'SecretRefused');

    const verdicts = await kstatusOf(resources.namespace, 'oauth2clients');
    expect(verdicts.ready).toMatchObject({ status: 'Current' });
    expect(verdicts.waiting).toMatchObject({ status: 'InProgress', message: expect.stringContaining('not-there-yet') });
    expect(verdicts.refused).toMatchObject({ status: 'Failed', message: expect.stringContaining('at least 16 characters') });

    await resources.createSecret('not-there-yet', { CLIENT_ID: 'arrived', CLIENT_SECRET: 'a-long-enough-secret-for-the-server' });
    await resources.waitReady('waiting');
    await eventually('waiting to read Current', async () =>
      (await kstatusOf(resources.namespace, 'oauth2clients')).waiting?.status === 'Current' ? true : undefined,
    );
  });

  it('a spec change reads InProgress until the operator has observed it (observedGeneration), then Current', async () => {
    await resources.create('changing', { grantTypes: ['client_credentials'], secretName: 'changing-credentials', scope: 'read' });
    await resources.waitReady('changing');
    // Stopped, the operator cannot observe the change: kstatus must not call the resource done meanwhile.
    await operator.stop();
    await resources.patchSpec('changing', { scope: 'read write' });
    expect((await kstatusOf(resources.namespace, 'oauth2clients')).changing).toMatchObject({ status: 'InProgress' });
    operator = await startOperatorProcess({ kubeconfigPath: kubeconfigPath(), serverUrl: server.url, namespaces: [resources.namespace] });
    await eventually('the changed resource to read Current', async () =>
      (await kstatusOf(resources.namespace, 'oauth2clients')).changing?.status === 'Current' ? true : undefined,
    );
  });

  it('a KeyPolicy governing a client reads Current', async () => {
    await resources.create('governed', { grantTypes: ['client_credentials'], secretName: 'governed-credentials' }, { tier: 'kstatus' });
    await resources.waitReady('governed');
    const policy = `apiVersion: gatehouse.dev/v1alpha1
kind: KeyPolicy
metadata:
  name: kstatus-policy
  namespace: ${resources.namespace}
spec:
  selector:
    matchLabels:
      tier: kstatus
  rotationInterval: 720h
  gracePeriod: 1h
`;
    const applied = await kubectl(envtestBinDir(), kubeconfigPath(), ['apply', '-f', '-'], policy);
    expect(applied.stderr).toBe('');
    const verdict = await eventually('the KeyPolicy to read Current', async () => {
      const found = (await kstatusOf(resources.namespace, 'keypolicies'))['kstatus-policy'];
      return found?.status === 'Current' ? found : undefined;
    });
    expect(verdict.kind).toBe('KeyPolicy');
  });
});
