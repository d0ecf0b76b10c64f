// Sees, through watches, when each OAuth2Client of the benchmark namespace is done: Ready=True for its current
// generation and its Secret holding credentials. Watches rather than polling, so observing costs kube-apiserver
// almost nothing and the time is known within an event's delivery.
import type { V1Secret } from '@kubernetes/client-node';
import type { KubeClient } from '../src/operator/runtime/kube-client.js';
import { GROUP, PLURAL, VERSION, type OAuth2ClientResource } from '../src/operator/api/oauth2client.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../src/operator/controller/secret.js';
import { Informer } from '../src/operator/runtime/informer.js';

export const SECRET_SUFFIX = '-credentials';

interface CountWaiter {
  prefix: string;
  count: number;
  resolve: () => void;
}

export class ReadinessTracker {
  private readonly resources: Informer<OAuth2ClientResource>;
  private readonly secrets: Informer<V1Secret>;
  private readonly readyAt = new Map<string, number>();
  private readonly secretAt = new Map<string, number>();
  private readonly doneAt = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();
  private countWaiters: CountWaiter[] = [];

  constructor(kube: KubeClient, namespace: string) {
    this.resources = new Informer<OAuth2ClientResource>({
      name: 'bench-oauth2clients',
      kube,
      path: `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
    });
    this.secrets = new Informer<V1Secret>({
      name: 'bench-secrets',
      kube,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
    });
    const onResource = (resource: OAuth2ClientResource) => {
      const name = resource.metadata.name;
      if (this.readyAt.has(name)) return;
      const ready = resource.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'True' && resource.status?.observedGeneration === resource.metadata.generation) this.mark(this.readyAt, name, name);
    };
    const onSecret = (secret: V1Secret) => {
      const name = secret.metadata?.name ?? '';
      if (!name.endsWith(SECRET_SUFFIX) || this.secretAt.has(name)) return;
      if (secret.data?.CLIENT_ID && secret.data.CLIENT_SECRET) this.mark(this.secretAt, name, name.slice(0, -SECRET_SUFFIX.length));
    };
    this.resources.onAdd(onResource);
    this.resources.onUpdate((_before, after) => onResource(after));
    this.secrets.onAdd(onSecret);
    this.secrets.onUpdate((_before, after) => onSecret(after));
  }

  /** Resolves once both watches have listed; events from then on are seen. */
  async start(): Promise<void> {
    await Promise.all([this.resources.start(), this.secrets.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.resources.stop(), this.secrets.stop()]);
  }

  /** performance.now() when the resource was first seen done. */
  whenDone(name: string, timeoutMs: number): Promise<number> {
    const done = this.doneAt.get(name);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(name);
        reject(new Error(`${name} was not done within ${timeoutMs / 1000} s: ${this.describe(name)}`));
      }, timeoutMs);
      this.waiters.set(name, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  /** Resolves once `count` resources whose names start with `prefix` are done. */
  whenCount(prefix: string, count: number): Promise<void> {
    if (this.doneCount(prefix) >= count) return Promise.resolve();
    return new Promise((resolve) => this.countWaiters.push({ prefix, count, resolve }));
  }

  doneCount(prefix: string): number {
    let count = 0;
    for (const name of this.doneAt.keys()) if (name.startsWith(prefix)) count++;
    return count;
  }

  doneTimes(prefix: string): Map<string, number> {
    return new Map([...this.doneAt].filter(([name]) => name.startsWith(prefix)));
  }

  /** The server-side client id the operator recorded in the resource's status, once it has. */
  clientIdOf(name: string): string | undefined {
    return this.resources.list().find((r) => r.metadata.name === name)?.status?.clientId;
  }

  /** Why a resource is not done yet, for error messages: its Ready condition and whether its Secret was seen. */
  describe(name: string): string {
    const resource = this.resources.list().find((r) => r.metadata.name === name);
    const ready = resource?.status?.conditions?.find((c) => c.type === 'Ready');
    const condition = ready ? `Ready=${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''}` : 'no Ready condition';
    return `${resource ? condition : 'not seen'}; Secret ${this.secretAt.has(`${name}${SECRET_SUFFIX}`) ? 'seen' : 'not seen'}`;
  }

  /** Ready reasons of the resources with `prefix` that are not done, counted, e.g. "ServerUnavailable × 3". */
  pendingReasons(prefix: string): string {
    const counts = new Map<string, number>();
    for (const resource of this.resources.list()) {
      const name = resource.metadata.name;
      if (!name.startsWith(prefix) || this.doneAt.has(name)) continue;
      const ready = resource.status?.conditions?.find((c) => c.type === 'Ready');
      const key = ready ? `${ready.status}/${ready.reason}` : 'no status yet';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([key, n]) => `${key} × ${n}`).join(', ') || 'none';
  }

  private mark(times: Map<string, number>, key: string, resource: string): void {
    const now = performance.now();
    times.set(key, now);
    if (this.doneAt.has(resource) || !this.readyAt.has(resource) || !this.secretAt.has(`${resource}${SECRET_SUFFIX}`)) return;
    this.doneAt.set(resource, now);
    this.waiters.get(resource)?.(now);
    this.waiters.delete(resource);
    if (this.countWaiters.length) {
      this.countWaiters = this.countWaiters.filter((waiter) => {
        if (!resource.startsWith(waiter.prefix) || this.doneCount(waiter.prefix) < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    }
  }
}
