// Shared by the operator e2e files: bounded polling, OAuth2Client and Secret helpers, metrics of both processes.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { GatehouseApiError } from '../../src/sdk/errors.js';
import { GatehouseClient } from '../../src/sdk/client.js';
import type { OAuth2Client } from '../../src/sdk/types.js';
import type { OAuth2ClientResource } from '../../src/operator/api/oauth2client.js';
import { counterSum, type ServerUnderTest } from '../support/operator-stack.js';

export const GROUP = { group: 'gatehouse.dev', version: 'v1alpha1', plural: 'oauth2clients' } as const;
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Polls `probe` every 200 ms until it returns something other than undefined, for at most timeoutMs. A probe may
 * throw to say "not yet, and here is what I saw": the last such error is part of the timeout message.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type Spec = Record<string, unknown>;
export type Condition = { type: string; status: string; reason: string; message: string; observedGeneration?: number };

/** Typed access to OAuth2Client resources and their Secrets in one namespace. */
export class Resources {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;

  constructor(
    kc: KubeConfig,
    readonly namespace: string,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async create(name: string, spec: Spec, labels?: Record<string, string>): Promise<OAuth2ClientResource> {
    return (await this.custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: this.namespace,
      body: { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'OAuth2Client', metadata: { name, ...(labels ? { labels } : {}) }, spec },
    })) as OAuth2ClientResource;
  }

  async get(name: string): Promise<OAuth2ClientResource> {
    return (await this.custom.getNamespacedCustomObject({ ...GROUP, namespace: this.namespace, name })) as OAuth2ClientResource;
  }

  async find(name: string): Promise<OAuth2ClientResource | undefined> {
    try {
      return await this.get(name);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  async patchSpec(name: string, spec: Spec): Promise<OAuth2ClientResource> {
    return (await this.custom.patchNamespacedCustomObject({ ...GROUP, namespace: this.namespace, name, body: { spec } }, mergePatch)) as OAuth2ClientResource;
  }

  async delete(name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ ...GROUP, namespace: this.namespace, name });
  }

  async ready(name: string): Promise<Condition | undefined> {
    return readyOf(await this.get(name));
  }

  /**
   * Waits until the Ready condition has `status` (and `reason` when given) for the resource's current generation,
   * and returns the resource; on timeout the message shows the last condition seen.
   */
  async waitFor(name: string, status: 'True' | 'False', reason?: string, timeoutMs = 30_000): Promise<OAuth2ClientResource> {
    return eventually(
      `${this.namespace}/${name} to be Ready=${status}${reason ? ` (${reason})` : ''}`,
      async () => {
        const resource = await this.get(name);
        const ready = readyOf(resource);
        const matches = ready?.status === status && (!reason || ready.reason === reason) && ready.observedGeneration === resource.metadata.generation;
        if (!matches) throw new Error(`Ready is ${JSON.stringify(ready)} at generation ${resource.metadata.generation}`);
        return resource;
      },
      timeoutMs,
    );
  }

  async waitReady(name: string, timeoutMs = 30_000): Promise<OAuth2ClientResource> {
    return this.waitFor(name, 'True', 'Reconciled', timeoutMs);
  }

  async secret(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace: this.namespace, name });
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  async createSecret(name: string, values: Record<string, string>): Promise<V1Secret> {
    return this.core.createNamespacedSecret({ namespace: this.namespace, body: { metadata: { name }, type: 'Opaque', stringData: values } });
  }

  async deleteSecret(name: string): Promise<void> {
    await this.core.deleteNamespacedSecret({ namespace: this.namespace, name });
  }

  /** Kubernetes Events about one resource, as "Type Reason: message" lines. */
  async events(name: string): Promise<string[]> {
    const list = await this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items.map((event) => `${event.type} ${event.reason}: ${event.message}`);
  }
}

export function readyOf(resource: OAuth2ClientResource): Condition | undefined {
  return resource.status?.conditions?.find((c) => c.type === 'Ready');
}

export function decoded(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/** Client id and secret from a Secret (default key names unless given). */
export function credentialsOf(secret: V1Secret | undefined, idKey = 'CLIENT_ID', secretKey = 'CLIENT_SECRET'): { clientId: string; clientSecret: string } {
  const clientId = decoded(secret, idKey);
  const clientSecret = decoded(secret, secretKey);
  if (!clientId || !clientSecret)
    throw new Error(`Secret ${secret?.metadata?.name} lacks ${idKey}/${secretKey}: keys ${Object.keys(secret?.data ?? {}).join(', ')}`);
  return { clientId, clientSecret };
}

/** A client-credentials token from the server with the given credentials; throws the server's answer otherwise. */
export async function tokenFor(serverUrl: string, credentials: { clientId: string; clientSecret: string }, scope?: string): Promise<string> {
  const app = new GatehouseClient({ endpoint: serverUrl, ...credentials });
  try {
    return (await app.clientCredentialsToken(scope)).access_token;
  } finally {
    await app.close();
  }
}

/** The HTTP status the server answers a token request with these credentials (200 when they work). */
export async function tokenStatus(serverUrl: string, credentials: { clientId: string; clientSecret: string }): Promise<number> {
  try {
    await tokenFor(serverUrl, credentials);
    return 200;
  } catch (error) {
    if (error instanceof GatehouseApiError) return error.status;
    throw error;
  }
}

/**
 * An application as a rotation meets it: a token request every 100 ms with whatever its Secret holds, re-read each
 * second (as a kubelet-mounted file changes). Stopping it says what it saw.
 */
export function runApplication(resources: Resources, secretName: string, serverUrl: string, first: { clientId: string; clientSecret: string }) {
  let credentials = first;
  const seen = new Set<string>([first.clientSecret]);
  const failures: string[] = [];
  let requests = 0;
  let running = true;
  const loop = (async () => {
    let lastRead = Date.now();
    while (running) {
      if (Date.now() - lastRead >= 1_000) {
        credentials = credentialsOf(await resources.secret(secretName));
        seen.add(credentials.clientSecret);
        lastRead = Date.now();
      }
      const status = await tokenStatus(serverUrl, credentials);
      requests++;
      if (status !== 200) failures.push(`${new Date().toISOString()} ${status}`);
      await sleep(100);
    }
  })();
  return {
    /** The secrets it has held so far, oldest first. */
    seen,
    async stop(): Promise<{ failures: string[]; requests: number; seen: string[] }> {
      running = false;
      await loop;
      return { failures, requests, seen: [...seen] };
    },
  };
}

/**
 * Whether the server authenticates a client with these credentials, whatever its grants: introspection accepts any
 * authenticated client (an unknown token is just inactive) and answers 401 invalid_client otherwise.
 */
export async function authenticates(serverUrl: string, credentials: { clientId: string; clientSecret: string }): Promise<boolean> {
  const app = new GatehouseClient({ endpoint: serverUrl, ...credentials });
  try {
    const introspection = await app.introspect('not-a-token');
    if (introspection.active) throw new Error('a made-up token introspected as active');
    return true;
  } catch (error) {
    if (error instanceof GatehouseApiError && error.status === 401) return false;
    throw error;
  } finally {
    await app.close();
  }
}

/** Every client on the server owned by the given resource (paged). */
export async function clientsOwnedBy(server: ServerUnderTest, namespace: string, name: string): Promise<OAuth2Client[]> {
  const owned: OAuth2Client[] = [];
  for await (const client of server.root.allClients(100)) if (client.owner === `gatehouse.dev/${namespace}/${name}`) owned.push(client);
  return owned;
}

/** Writes the server saw to its client API: POST /clients, PUT and DELETE /clients/:id, from its own /metrics. */
export async function serverClientWrites(server: ServerUnderTest): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return ['POST', 'PUT', 'PATCH', 'DELETE'].reduce(
    (sum, method) =>
      sum +
      counterSum(text, 'http_request_duration_seconds_count', `method="${method}",route="/clients"`) +
      counterSum(text, 'http_request_duration_seconds_count', `method="${method}",route="/clients/:id"`),
    0,
  );
}

/** Writes the operator made (gatehouse_operator_writes_total), optionally of one target ("kubernetes", "server"). */
export function operatorWrites(metricsText: string, target?: 'kubernetes' | 'server'): number {
  return counterSum(metricsText, 'gatehouse_operator_writes_total', target ? `target="${target}"` : '');
}

/** The error an API call was refused with: HTTP code and the Status message the API server sent. */
export async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    const { code, body } = error as { code?: number; body?: unknown };
    if (typeof code !== 'number') throw error;
    const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : (body as { message?: string } | undefined);
    return { code, message: parsed?.message ?? String(body) };
  }
  throw new Error('the API server accepted what it should have refused');
}

/** Runs the envtest kubectl against a kubeconfig; resolves with exit code and output, never rejects on a non-zero exit. */
export function kubectl(binDir: string, kubeconfig: string, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
      if (error && code === -1) reject(error);
      else resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}
