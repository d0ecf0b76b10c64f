import type { V1Secret } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type OAuth2ClientResource, type OAuth2ClientStatus } from '../api/oauth2client.js';
import type { ResourcePort, SecretPort } from '../controller/ports.js';
import { isNotFound, type KubeClient } from '../runtime/kube-client.js';
import { OwnWrites } from './own-writes.js';

const MERGE_PATCH = 'application/merge-patch+json';

interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
}

/** OAuth2Client reads come from the informer's cache; writes are merge patches. */
export class KubeResourcePort implements ResourcePort {
  /** Keyed by uid: what a reconcile must see of our own finalizer and status writes (see OwnWrites). */
  private readonly written = new OwnWrites<Pick<OAuth2ClientResource, 'metadata' | 'status'>>();

  constructor(
    private readonly kube: KubeClient,
    private readonly cache: Cache<OAuth2ClientResource>,
  ) {}

  private pathOf(resource: OAuth2ClientResource): string {
    const { namespace, name } = resource.metadata;
    return `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}/${encodeURIComponent(name)}`;
  }

  get(key: string): OAuth2ClientResource | undefined {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.cache.get(namespace, name);
    const written = cached && this.written.get(cached.metadata.uid);
    if (!written) return cached;
    const { finalizers, resourceVersion } = written.metadata;
    return { ...cached, metadata: { ...cached.metadata, finalizers, resourceVersion }, status: written.status };
  }

  /** Called by the resource informer's handlers: once it holds what we wrote, the cache is current again. */
  observed(resource: OAuth2ClientResource): void {
    this.written.observed(resource.metadata.uid, resource.metadata.resourceVersion);
  }

  forget(resource: OAuth2ClientResource): void {
    this.written.forget(resource.metadata.uid);
  }

  async patchStatus(resource: OAuth2ClientResource, status: OAuth2ClientStatus): Promise<void> {
    this.remember(await this.kube.request<OAuth2ClientResource>('PATCH', `${this.pathOf(resource)}/status`, { body: { status }, contentType: MERGE_PATCH }));
  }

  private remember(patched: OAuth2ClientResource): void {
    const cached = this.cache.get(patched.metadata.namespace, patched.metadata.name);
    this.written.remember(
      patched.metadata.uid,
      { metadata: { ...patched.metadata, finalizers: patched.metadata.finalizers ?? [] }, status: patched.status ?? {} },
      patched.metadata.resourceVersion,
      cached?.metadata.resourceVersion,
    );
  }

  async setFinalizers(resource: OAuth2ClientResource, finalizers: string[]): Promise<void> {
    try {
      const patched = await this.kube.request<OAuth2ClientResource>('PATCH', this.pathOf(resource), {
        // The resourceVersion makes this a compare-and-swap: finalizers someone else set meanwhile are not lost.
        body: { metadata: { finalizers, resourceVersion: resource.metadata.resourceVersion } },
        contentType: MERGE_PATCH,
      });
      this.remember(patched);
    } catch (error) {
      // Removing our finalizer from a resource that is already gone is done.
      if (!(isNotFound(error) && !finalizers.length)) throw error;
    }
  }
}

/**
 * Secrets the operator manages come from an informer (label selector); others (a user's Secret in wait mode, one to
 * adopt) are read directly. What this process wrote last is preferred until the informer has caught up with it, so
 * a reconcile right after a write does not act on the previous version.
 */
export class KubeSecretPort implements SecretPort {
  /** Keyed by namespace/name (see OwnWrites). */
  private readonly written = new OwnWrites<V1Secret>();

  constructor(
    private readonly kube: KubeClient,
    private readonly cache: Cache<V1Secret>,
  ) {}

  /** Called by the Secret informer's handlers, so the cache takes over again once it holds what we wrote. */
  observed(secret: V1Secret): void {
    this.written.observed(`${secret.metadata?.namespace}/${secret.metadata?.name}`, secret.metadata?.resourceVersion);
  }

  async get(namespace: string, name: string): Promise<V1Secret | undefined> {
    const recent = this.written.get(`${namespace}/${name}`);
    if (recent) return recent;
    const cached = this.cache.get(namespace, name);
    if (cached) return cached;
    try {
      return await this.kube.request<V1Secret>('GET', secretPath(namespace, name));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async create(secret: V1Secret): Promise<V1Secret> {
    return this.remember(await this.kube.request<V1Secret>('POST', secretPath(secret.metadata!.namespace!), { body: secret }));
  }

  async replace(secret: V1Secret): Promise<V1Secret> {
    return this.remember(await this.kube.request<V1Secret>('PUT', secretPath(secret.metadata!.namespace!, secret.metadata!.name), { body: secret }));
  }

  async delete(namespace: string, name: string): Promise<void> {
    this.written.forget(`${namespace}/${name}`);
    try {
      await this.kube.request('DELETE', secretPath(namespace, name));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private remember(secret: V1Secret): V1Secret {
    const namespace = secret.metadata?.namespace ?? '';
    const name = secret.metadata?.name ?? '';
    this.written.remember(`${namespace}/${name}`, secret, secret.metadata?.resourceVersion, this.cache.get(namespace, name)?.metadata?.resourceVersion);
    return secret;
  }
}

function secretPath(namespace: string, name?: string): string {
  const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}
