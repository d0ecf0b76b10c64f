// The harness features later suites depend on: an API server restart that clients survive (operator
// watch recovery) and a stop that leaves nothing behind. Uses its own control plane so the restart
// does not disturb other files.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { freshNamespace, startControlPlane, type ControlPlane } from '../support/control-plane.js';

function acceptsConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('control plane lifecycle', () => {
  let controlPlane: ControlPlane;

  beforeAll(async () => {
    controlPlane = await startControlPlane();
  });

  afterAll(async () => {
    await controlPlane?.stop();
  });

  test('kube-apiserver restarts on the same address with the same data, ending open watches', async () => {
    const kc = controlPlane.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await freshNamespace(kc);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before' }, data: { key: 'value' } } });

    let watchEnded = false;
    await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      {},
      () => undefined,
      () => {
        watchEnded = true;
      },
    );

    const restart = controlPlane.restartApiServer({ downtimeMs: 1_000 });
    await vi.waitFor(async () => expect(await acceptsConnections(controlPlane.server)).toBe(false), { timeout: 15_000 });
    await restart;

    await vi.waitFor(() => expect(watchEnded).toBe(true), { timeout: 10_000 });
    expect((await core.readNamespacedConfigMap({ namespace, name: 'before' })).data).toEqual({ key: 'value' });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after' } } });
    const names = (await core.listNamespacedConfigMap({ namespace })).items.map((item) => item.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['before', 'after']));
  });

  test('stop() ends the servers and removes the working folder', async () => {
    await controlPlane.stop();
    expect(await acceptsConnections(controlPlane.server)).toBe(false);
    expect(existsSync(controlPlane.workDir)).toBe(false);
  });
});
