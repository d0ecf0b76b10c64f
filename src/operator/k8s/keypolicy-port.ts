import { GROUP, VERSION } from '../api/oauth2client.js';
import { KEY_POLICY_PLURAL, type KeyPolicyStatus } from '../api/keypolicy.js';
import type { KeyPolicyResource } from '../keypolicy/decide.js';
import type { KeyPolicyPort } from '../keypolicy/reconciler.js';
import type { KubeClient } from '../runtime/kube-client.js';

interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
  list(): T[];
}

/** KeyPolicy reads from the informer's cache; status writes are merge patches of the status subresource. */
export class KubeKeyPolicyPort implements KeyPolicyPort {
  constructor(
    private readonly kube: KubeClient,
    private readonly cache: Cache<KeyPolicyResource>,
  ) {}

  get(key: string): KeyPolicyResource | undefined {
    const [namespace, name] = key.split('/') as [string, string];
    return this.cache.get(namespace, name);
  }

  list(namespace: string): KeyPolicyResource[] {
    return this.cache.list().filter((policy) => policy.metadata.namespace === namespace);
  }

  async patchStatus(policy: KeyPolicyResource, status: KeyPolicyStatus): Promise<void> {
    const { namespace, name } = policy.metadata;
    await this.kube.request(
      'PATCH',
      `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${KEY_POLICY_PLURAL}/${encodeURIComponent(name)}/status`,
      {
        // Replaces the lists and conditions as a whole: merge patch treats arrays as values.
        body: { status },
        contentType: 'application/merge-patch+json',
      },
    );
  }
}
