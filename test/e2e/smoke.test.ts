// Proves the control plane is a real Kubernetes API server for the features the operator relies on.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  V1MicroTime,
  Watch,
  loadYaml,
  setHeaderOptions,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { envtestBinDir, freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';

const run = promisify(execFile);
const GROUP = 'smoke.e2e.gatehouse.dev';
const VERSION = 'v1';
const PLURAL = 'widgets';
const CRD_NAME = `${PLURAL}.${GROUP}`;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec: { minReplicas: number; maxReplicas: number };
  status?: { ready?: boolean; observedGeneration?: number };
}

function widget(name: string, spec: Widget['spec']): Widget {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name }, spec };
}

/** The refusal's HTTP status and Status message, failing the test if the call succeeded. */
async function rejection(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error: unknown = await call.then(
    () => expect.fail('expected the API server to refuse the request'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiException);
  const { code, body } = error as ApiException<unknown>;
  // client-node 1.4 leaves error bodies as the raw JSON text of a metav1.Status.
  const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
  return { code, message: status.message ?? '' };
}

// client-node 1.4 types MicroTime fields as Date but hands back the server's string unparsed.
function epochMs(microTime: Date | string | undefined): number {
  return microTime instanceof Date ? microTime.getTime() : Date.parse(String(microTime));
}

async function applyCrd(kc: KubeConfig): Promise<void> {
  // loadYaml maps `x-kubernetes-validations` to the client's typed field; a plain YAML parse would
  // have its CEL rules silently dropped by the client's serializer.
  const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(join(import.meta.dirname, 'fixtures', 'widget-crd.yaml'), 'utf8'));
  await KubernetesObjectApi.makeApiClient(kc).patch(crd, undefined, undefined, 'gatehouse-e2e', true, PatchStrategy.ServerSideApply);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  await vi.waitFor(
    async () => {
      const current = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
      const established = current.status?.conditions?.find((c) => c.type === 'Established');
      expect(established?.status).toBe('True');
    },
    { timeout: 30_000, interval: 100 },
  );
}

describe('control plane', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let namespace: string;

  beforeAll(async () => {
    kc = kubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    await applyCrd(kc);
  });

  beforeEach(async () => {
    namespace = await freshNamespace(kc);
  });

  const create = (body: Widget): Promise<Widget> =>
    objects.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body }) as Promise<Widget>;
  const read = (name: string): Promise<Widget> =>
    objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name }) as Promise<Widget>;

  test('accepts an object that satisfies the schema and its CEL rule', async () => {
    const created = await create(widget('valid', { minReplicas: 1, maxReplicas: 3 }));
    expect(created.metadata.namespace).toBe(namespace);
    expect((await read('valid')).spec).toEqual({ minReplicas: 1, maxReplicas: 3 });
  });

  test('refuses an object that breaks the CEL rule, with the rule message', async () => {
    const { code, message } = await rejection(create(widget('inverted', { minReplicas: 5, maxReplicas: 2 })));
    expect(code).toBe(422);
    expect(message).toContain('minReplicas must not exceed maxReplicas');
  });

  test('refuses an object that breaks the structural schema', async () => {
    const { code, message } = await rejection(create(widget('negative', { minReplicas: -1, maxReplicas: 2 })));
    expect(code).toBe(422);
    expect(message).toContain('spec.minReplicas');
  });

  test('a watch sees ADDED, MODIFIED and DELETED', async () => {
    const events: Array<{ type: string; name: string; resourceVersion: string }> = [];
    let watchError: unknown;
    const watch = await new Watch(kc).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      {},
      (type, object: Widget) => events.push({ type, name: object.metadata.name, resourceVersion: object.metadata.resourceVersion ?? '' }),
      (error: unknown) => {
        watchError = error;
      },
    );
    try {
      await create(widget('watched', { minReplicas: 0, maxReplicas: 1 }));
      await vi.waitFor(() => expect(events.map((e) => e.type)).toContain('ADDED'));
      await objects.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'watched', body: { spec: { maxReplicas: 2 } } },
        mergePatch,
      );
      await vi.waitFor(() => expect(events.map((e) => e.type)).toContain('MODIFIED'));
      await objects.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'watched' });
      await vi.waitFor(() => expect(events.map((e) => e.type)).toContain('DELETED'));
      expect(watchError).toBeUndefined();
    } finally {
      watch.abort();
    }
    expect(events.map((e) => [e.type, e.name])).toEqual([
      ['ADDED', 'watched'],
      ['MODIFIED', 'watched'],
      ['DELETED', 'watched'],
    ]);
    expect(new Set(events.map((e) => e.resourceVersion)).size).toBe(3);
  });

  test('status is written only through the status subresource', async () => {
    await create(widget('statused', { minReplicas: 1, maxReplicas: 1 }));
    const ref = { group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'statused' };

    await objects.patchNamespacedCustomObject({ ...ref, body: { status: { ready: true } } }, mergePatch);
    expect((await read('statused')).status).toBeUndefined();

    const patched = (await objects.patchNamespacedCustomObjectStatus(
      { ...ref, body: { status: { ready: true, observedGeneration: 1 } } },
      mergePatch,
    )) as Widget;
    expect(patched.status).toEqual({ ready: true, observedGeneration: 1 });
    const stored = await read('statused');
    expect(stored.status).toEqual({ ready: true, observedGeneration: 1 });
    expect(stored.metadata.generation).toBe(1);
  });

  test('server-side apply reports a conflict between field managers unless forced', async () => {
    const objectApi = KubernetesObjectApi.makeApiClient(kc);
    const apply = (manager: string, maxReplicas: number, force: boolean): Promise<Widget> =>
      objectApi.patch(
        { ...widget('applied', { minReplicas: 1, maxReplicas }), metadata: { name: 'applied', namespace } },
        undefined,
        undefined,
        manager,
        force,
        PatchStrategy.ServerSideApply,
      );

    await apply('operator', 3, false);
    const { code, message } = await rejection(apply('someone-else', 4, false));
    expect(code).toBe(409);
    expect(message).toContain('conflict with "operator"');

    await apply('someone-else', 4, true);
    expect((await read('applied')).spec.maxReplicas).toBe(4);
  });

  test('a Lease can be created and renewed, and a stale renewal conflicts', async () => {
    const leases = kc.makeApiClient(CoordinationV1Api);
    const acquired = new V1MicroTime(Date.now() - 1_000);
    const created = await leases.createNamespacedLease({
      namespace,
      body: {
        metadata: { name: 'gatehouse-operator' },
        spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, acquireTime: acquired, renewTime: acquired },
      },
    });
    expect(created.spec?.holderIdentity).toBe('replica-a');

    const renewTime = new V1MicroTime();
    const renewed = await leases.replaceNamespacedLease({
      name: 'gatehouse-operator',
      namespace,
      body: { ...created, spec: { ...created.spec, renewTime } },
    });
    expect(renewed.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
    expect(epochMs(renewed.spec?.renewTime)).toBe(renewTime.getTime());
    expect(epochMs(renewed.spec?.renewTime)).toBeGreaterThan(acquired.getTime());

    const stale = leases.replaceNamespacedLease({
      name: 'gatehouse-operator',
      namespace,
      body: { ...created, spec: { ...created.spec, holderIdentity: 'replica-b', renewTime: new V1MicroTime() } },
    });
    expect((await rejection(stale)).code).toBe(409);
    const current = await leases.readNamespacedLease({ name: 'gatehouse-operator', namespace });
    expect(current.spec?.holderIdentity).toBe('replica-a');
  });
});

describe('helm and kubectl from the envtest cache', () => {
  test('helm version reports helm 4', async () => {
    const { stdout } = await run(join(envtestBinDir(), 'helm'), ['version', '--short']);
    expect(stdout.trim()).toMatch(/^v4\.\d+\.\d+/);
  });

  test('kubectl version --client reports a client version', async () => {
    const { stdout } = await run(join(envtestBinDir(), 'kubectl'), ['version', '--client']);
    expect(stdout).toMatch(/^Client Version: v1\.\d+\.\d+/m);
  });

  test('kubectl reaches the control plane through the kubeconfig', async () => {
    const { stdout } = await run(join(envtestBinDir(), 'kubectl'), ['--kubeconfig', kubeconfigPath(), 'get', '--raw', '/readyz']);
    expect(stdout.trim()).toBe('ok');
  });

  test('helm reaches the control plane through the kubeconfig', async () => {
    const { stdout } = await run(join(envtestBinDir(), 'helm'), ['list', '--all-namespaces', '--output', 'json', '--kubeconfig', kubeconfigPath()]);
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
