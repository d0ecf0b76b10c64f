import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeSecretPort } from '../../src/operator/k8s/kube-ports.js';
import { OwnWrites } from '../../src/operator/k8s/own-writes.js';
import { KubeApiError, type KubeClient } from '../../src/operator/runtime/kube-client.js';

// Pure cache logic of the Secret port: what it returns after its own writes, whichever arrives first, the write's
// response or the watch event of the same write. The API is replaced by a fake; no cluster is involved.
const secret = (resourceVersion: string, value: string): V1Secret => ({
  metadata: { namespace: 'ns', name: 's', resourceVersion },
  data: { CLIENT_SECRET: Buffer.from(value).toString('base64') },
});

/** A Kubernetes API that answers writes with `createResult` and knows no Secret to read. */
function fakeKube(createResult: V1Secret): KubeClient {
  return {
    server: 'https://127.0.0.1:1',
    request: async <T>(method: string): Promise<T> => {
      if (method === 'GET') throw new KubeApiError(404, undefined, 'HTTP 404: not found');
      return (method === 'DELETE' ? {} : createResult) as T;
    },
    open: () => Promise.reject(new Error('no streams here')),
  };
}

function portWith(cache: Map<string, V1Secret>, createResult: V1Secret) {
  return new KubeSecretPort(fakeKube(createResult), { get: (namespace, name) => cache.get(`${namespace}/${name}`) });
}

describe('KubeSecretPort', () => {
  it('returns its own write until the informer has caught up, then the informer again', async () => {
    const cache = new Map<string, V1Secret>();
    const port = portWith(cache, secret('2', 'new'));
    await port.create(secret('', 'new'));
    expect((await port.get('ns', 's'))?.metadata?.resourceVersion).toBe('2');

    cache.set('ns/s', secret('2', 'new'));
    port.observed(secret('2', 'new'));
    cache.set('ns/s', secret('3', 'newer'));
    expect((await port.get('ns', 's'))?.metadata?.resourceVersion).toBe('3');
  });

  it('does not keep a copy when the watch event of the write came before the response', async () => {
    const cache = new Map<string, V1Secret>();
    const port = portWith(cache, secret('2', 'new'));
    // The informer delivered resourceVersion 2 (and called observed) before create() returned.
    cache.set('ns/s', secret('2', 'new'));
    port.observed(secret('2', 'new'));
    await port.create(secret('', 'new'));

    // A later deletion must be visible: no stale copy may shadow the cache.
    cache.delete('ns/s');
    expect(await port.get('ns', 's')).toBeUndefined();
  });
});

describe('OwnWrites', () => {
  it('keeps a write until its version is observed, and not past its time limit when it never is', () => {
    let now = 0;
    const writes = new OwnWrites<string>(10_000, () => now);
    writes.remember('k', 'ours', '5', '4');
    expect(writes.get('k')).toBe('ours');
    writes.observed('k', '4');
    expect(writes.get('k')).toBe('ours');
    writes.observed('k', '5');
    expect(writes.get('k')).toBeUndefined();

    // A re-list that skipped version 6: the copy expires instead of shadowing newer versions.
    writes.remember('k', 'ours again', '6', '5');
    now = 10_001;
    expect(writes.get('k')).toBeUndefined();
  });
});
