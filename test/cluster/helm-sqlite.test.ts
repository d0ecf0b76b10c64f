// `helm install` of the whole stack into a real one-node cluster, from the locally built image, the way most users
// meet Gatehouse: the server (SQLite on a volume) and two operator replicas become Ready, `helm test` passes, an
// application pod mounts the Secret of an OAuth2Client from examples/ and gets a token through the Service, the
// operator works with the chart's RBAC alone, a killed leader hands over, an upgrade keeps every secret and client, and
// an uninstall leaves the CRDs and takes the rest.
import { mkdtempSync, chmodSync, chownSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKit, eventually } from '../support/cluster-kit.js';
import { clusterUnderTest, gatehouseImage, imageValues } from '../support/cluster-images.js';
import { APPLICATION } from './fixtures/pod-scripts.js';

const RELEASE = 'gatehouse';
const NS = 'gatehouse';
const CHART = new URL('../../charts/gatehouse', import.meta.url).pathname;
const EXAMPLE = new URL('../../examples/oauth2client-machine.yaml', import.meta.url).pathname;
/** The image's user: it must own the SQLite volume, which a hostPath volume does not arrange by itself. */
const IMAGE_UID = 10001;

describe('helm install on a real cluster (SQLite)', () => {
  let kit: ClusterKit;
  let image: { repository: string; tag: string; reference: string };
  let volumeDir: string;

  const installArgs = () => ['--namespace', NS, ...imageValues(image), '--wait', '--timeout', '5m'];

  type ApplicationResult = { clientId: string; tokenUrl: string; active: boolean; introspectedClient: string; accessToken: string; previousActive?: boolean };

  async function applicationRun(name: string, previousToken?: string): Promise<ApplicationResult> {
    const output = await kit.runNode({
      namespace: 'default',
      name,
      image: image.reference,
      script: APPLICATION,
      env: previousToken ? [{ name: 'PREVIOUS_TOKEN', value: previousToken }] : [],
      volumes: [{ name: 'credentials', secret: { secretName: 'billing-credentials' } }],
      volumeMounts: [{ name: 'credentials', mountPath: '/etc/credentials', readOnly: true }],
    });
    return JSON.parse(output.trim().split('\n').pop()!) as ApplicationResult;
  }

  async function leaseHolder(): Promise<string | undefined> {
    const lease = await kit.json<{ spec?: { holderIdentity?: string } }>(['get', 'lease', `${RELEASE}-operator`, '-n', NS]);
    return lease.spec?.holderIdentity || undefined;
  }

  async function operatorPods(): Promise<string[]> {
    const pods = await kit.json<{
      items: { metadata: { name: string; deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    }>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=operator']);
    return pods.items
      .filter((pod) => !pod.metadata.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((pod) => pod.metadata.name);
  }

  beforeAll(async () => {
    kit = new ClusterKit(clusterUnderTest());
    image = await gatehouseImage();
    // The cluster has no volume provisioner: a PersistentVolume without a class binds the chart's claim, as a
    // cluster's default StorageClass would provide one.
    volumeDir = mkdtempSync(join(tmpdir(), 'gatehouse-pv-'));
    chownSync(volumeDir, IMAGE_UID, IMAGE_UID);
    chmodSync(volumeDir, 0o700);
    await kit.apply({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'gatehouse-sqlite' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: volumeDir, type: 'Directory' },
      },
    });
  });

  afterAll(async () => {
    await kit?.helm(['uninstall', RELEASE, '--namespace', NS, '--wait']);
    await kit?.kubectl(['delete', 'namespace', NS, '--wait=false']);
    await kit?.kubectl(['delete', 'pv', 'gatehouse-sqlite', '--wait=false']);
    await kit?.kubectl(['delete', '-f', EXAMPLE, '--wait=false']);
    await kit?.kubectl(['delete', 'oauth2client', 'after-failover', '-n', 'default', '--wait=false']);
    if (volumeDir) rmSync(volumeDir, { recursive: true, force: true });
  });

  it('installs with --wait: the server and both operator replicas Ready, from the local image', async () => {
    const installed = await kit.helm(['install', RELEASE, CHART, '--create-namespace', ...installArgs()]);
    expect(installed.code, installed.stderr).toBe(0);
    const deployments = await kit.json<{ items: { metadata: { name: string }; spec: { replicas: number }; status: { readyReplicas?: number } }[] }>([
      'get',
      'deployments',
      '-n',
      NS,
    ]);
    expect(Object.fromEntries(deployments.items.map((d) => [d.metadata.name, `${d.status.readyReplicas ?? 0}/${d.spec.replicas}`]))).toEqual({
      [RELEASE]: '1/1',
      [`${RELEASE}-operator`]: '2/2',
    });
    const images = await kit.must(['get', 'pods', '-n', NS, '-o', 'jsonpath={.items[*].spec.containers[*].image}']);
    expect(new Set(images.split(' '))).toEqual(new Set([image.reference]));
    // NOTES.txt: how to read the credentials.
    expect(installed.stdout).toContain(`kubectl -n ${NS} get secret ${RELEASE} -o jsonpath='{.data.ROOT_CLIENT_SECRET}' | base64 -d`);
  });

  it('helm test passes', async () => {
    const tested = await kit.helm(['test', RELEASE, '--namespace', NS, '--logs'], 300_000);
    expect(tested.code, `${tested.stdout}\n${tested.stderr}`).toBe(0);
    expect(tested.stdout).toMatch(/Phase:\s+Succeeded/);
  });

  it('an application pod mounting the Secret of examples/oauth2client-machine.yaml gets a token through the Service and introspects it', async () => {
    await kit.must(['apply', '-f', EXAMPLE]);
    await kit.must(['wait', '--for=condition=Ready', 'oauth2client/billing', '-n', 'default', '--timeout=120s'], { timeoutMs: 130_000 });
    const result = await applicationRun('billing-app');
    expect(result).toMatchObject({ active: true, introspectedClient: result.clientId });
    expect(result.tokenUrl).toBe(`http://${RELEASE}.${NS}.svc:4444/oauth2/token`);
  });

  it('the operator runs with its own ServiceAccount and the chart RBAC alone: it can do what it needs and nothing else', async () => {
    const serviceAccount = `system:serviceaccount:${NS}:${RELEASE}-operator`;
    const pods = await kit.json<{ items: { spec: { serviceAccountName: string } }[] }>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=operator']);
    expect(new Set(pods.items.map((pod) => pod.spec.serviceAccountName))).toEqual(new Set([`${RELEASE}-operator`]));
    const can = async (...args: string[]) => (await kit.kubectl(['auth', 'can-i', '--as', serviceAccount, ...args])).stdout.trim();
    expect(await can('watch', 'oauth2clients.gatehouse.dev', '--all-namespaces')).toBe('yes');
    expect(await can('create', 'secrets', '-n', 'default')).toBe('yes');
    expect(await can('update', `leases.coordination.k8s.io/${RELEASE}-operator`, '-n', NS)).toBe('yes');
    expect(await can('create', 'pods', '-n', 'default')).toBe('no');
    expect(await can('delete', 'nodes')).toBe('no');
    expect(await can('update', 'leases.coordination.k8s.io/kube-scheduler', '-n', 'kube-system')).toBe('no');
    expect(await can('create', 'clusterrolebindings')).toBe('no');
    // What it did so far (a client, its Secret, Events, the Lease) met no refusal.
    const logs = await kit.must(['logs', '-n', NS, '-l', 'app.kubernetes.io/component=operator', '--tail=-1', '--prefix']);
    expect(logs).not.toMatch(/forbidden|\b403\b/i);
  });

  it('killing the leader pod hands over to the other replica, which goes on reconciling', async () => {
    const leader = await eventually('a Lease holder', leaseHolder);
    const before = await operatorPods();
    expect(before).toContain(leader);
    await kit.must(['delete', 'pod', leader, '-n', NS, '--grace-period=0', '--force']);
    const next = await eventually(
      'another replica to take the Lease',
      async () => {
        const holder = await leaseHolder();
        return holder && holder !== leader ? holder : undefined;
      },
      90_000,
    );
    // The standby, or the pod the ReplicaSet started in the leader's place, whichever asked first: either way a live one.
    await eventually(`the new holder ${next} to be a Ready operator pod`, async () => ((await operatorPods()).includes(next) ? true : undefined));
    await kit.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'OAuth2Client',
      metadata: { name: 'after-failover', namespace: 'default' },
      spec: { grantTypes: ['client_credentials'], secretName: 'after-failover-credentials' },
    });
    await kit.must(['wait', '--for=condition=Ready', 'oauth2client/after-failover', '-n', 'default', '--timeout=60s'], { timeoutMs: 70_000 });
    expect((await applicationRun('billing-app-after-failover')).active).toBe(true);
  });

  it('helm upgrade keeps the generated secrets and every client', async () => {
    const secretBefore = await kit.json<{ data: Record<string, string> }>(['get', 'secret', RELEASE, '-n', NS]);
    const serverPodBefore = await kit.must(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=server', '-o', 'jsonpath={.items[*].metadata.uid}']);
    const tokenBefore = (await applicationRun('billing-app-before-upgrade')).accessToken;
    const credentialsBefore = await kit.json<{ data: Record<string, string> }>(['get', 'secret', 'billing-credentials', '-n', 'default']);
    const upgraded = await kit.helm(['upgrade', RELEASE, CHART, ...installArgs(), '--set', 'operator.workers=2', '--set', 'server.logLevel=debug']);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const secretAfter = await kit.json<{ data: Record<string, string> }>(['get', 'secret', RELEASE, '-n', NS]);
    expect(secretAfter.data).toEqual(secretBefore.data);
    // The server pod was replaced (new settings) and kept its database: the same client, the same secret, still good.
    expect((await kit.json<{ data: Record<string, string> }>(['get', 'secret', 'billing-credentials', '-n', 'default'])).data).toEqual(credentialsBefore.data);
    const serverPodAfter = await kit.must(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=server', '-o', 'jsonpath={.items[*].metadata.uid}']);
    expect(serverPodAfter).not.toBe(serverPodBefore);
    // Neither the operator nor FORCE_ROOT_CLIENT_CREDENTIALS can bring back an issued token: it outlives the new pod
    // only on the same database.
    expect(await applicationRun('billing-app-after-upgrade', tokenBefore)).toMatchObject({ active: true, previousActive: true });
  });

  it('helm uninstall leaves the CRDs and removes the rest (the generated Secret is kept on purpose)', async () => {
    const uninstalled = await kit.helm(['uninstall', RELEASE, '--namespace', NS, '--wait']);
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    for (const crd of ['oauth2clients.gatehouse.dev', 'keypolicies.gatehouse.dev']) expect((await kit.kubectl(['get', 'crd', crd])).code).toBe(0);
    const selector = `app.kubernetes.io/instance=${RELEASE}`;
    const left = await eventually(
      'the release objects to go',
      async () => {
        const namespaced = await kit.must([
          'get',
          'deployments,services,serviceaccounts,configmaps,roles,rolebindings,persistentvolumeclaims,pods,secrets',
          '-n',
          NS,
          '-l',
          selector,
          '-o',
          'name',
        ]);
        const clusterWide = await kit.must(['get', 'clusterroles,clusterrolebindings', '-l', selector, '-o', 'name']);
        const names = `${namespaced}${clusterWide}`.trim().split('\n').filter(Boolean);
        if (names.some((name) => name !== `secret/${RELEASE}`)) throw new Error(`still there: ${names.join(', ')}`);
        return names;
      },
      120_000,
    );
    expect(left).toEqual([`secret/${RELEASE}`]);
  });
});
