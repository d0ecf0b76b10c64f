import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type OAuth2ClientResource, type OAuth2ClientStatus } from '../api/oauth2client.js';
import type { ResourcePort, SecretPort } from '../controller/ports.js';
import { OwnWrites } from './own-writes.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404;
}

interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
}

/** OAuth2Client reads come from the informer's cache; writes are merge patches. */
export class KubeResourcePort implements ResourcePort {
  private readonly api: CustomObjectsApi;
  /** Keyed by uid: what a reconcile must see of our own finalizer and status writes (see OwnWrites). */
  private readonly written = new OwnWrites<Pick<OAuth2ClientResource, 'metadata' | 'status'>>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly cache: Cache<OAuth2ClientResource>,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
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
    const patched = (await this.api.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace: resource.metadata.namespace, name: resource.metadata.name, body: { status } },
      mergePatch,
    )) as OAuth2ClientResource;
    this.remember(patched);
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
      const patched = await this.api.patchNamespacedCustomObject(
        // The resourceVersion makes this a compare-and-swap: finalizers someone else set meanwhile are not lost.
        {
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: resource.metadata.namespace,
          name: resource.metadata.name,
          body: { metadata: { finalizers, resourceVersion: resource.metadata.resourceVersion } },
        },
        mergePatch,
      );
      this.remember(patched as OAuth2ClientResource);
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
  private readonly api: CoreV1Api;
  /** Keyed by namespace/name (see OwnWrites). */
  private readonly written = new OwnWrites<V1Secret>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly cache: Cache<V1Secret>,
  ) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

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
      return await this.api.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async create(secret: V1Secret): Promise<V1Secret> {
    return this.remember(await this.api.createNamespacedSecret({ namespace: secret.metadata!.namespace!, body: secret }));
  }

  async replace(secret: V1Secret): Promise<V1Secret> {
    return this.remember(await this.api.replaceNamespacedSecret({ namespace: secret.metadata!.namespace!, name: secret.metadata!.name!, body: secret }));
  }

  async delete(namespace: string, name: string): Promise<void> {
    this.written.forget(`${namespace}/${name}`);
    try {
      await this.api.deleteNamespacedSecret({ namespace, name });
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
