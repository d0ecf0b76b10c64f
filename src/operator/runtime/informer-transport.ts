// List and watch requests on a collection path, over node:http(s) with the kubeconfig's TLS and credentials.
// client-node's Watch (re-checked on 2.0, where it became abortable and gained an inactivity timeout) still reports a
// failed watch as a bare status text without the Status body, and its list helpers are per type; the informer needs
// the Status (410 versus a refusal) and one path for every collection, so it speaks HTTP itself. The informer only sees the two function types below, so tests inject fakes.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** metav1.Status, as sent in error responses and in watch ERROR events. */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

export class KubeApiError extends Error {
  override name = 'KubeApiError';

  constructor(
    readonly statusCode: number,
    readonly status: KubeStatus | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** 410 Gone: the resourceVersion (or continue token) is older than the server keeps. */
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 410;
}

export interface ListRequest {
  path: string;
  labelSelector?: string;
  limit: number;
  continue?: string;
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export type ListFunction<T> = (request: ListRequest, signal: AbortSignal) => Promise<ListPage<T>>;

export interface WatchRequest {
  path: string;
  labelSelector?: string;
  resourceVersion: string;
  timeoutSeconds: number;
  allowWatchBookmarks: boolean;
}

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T } | { type: 'ERROR'; object: KubeStatus };

/**
 * Opens one watch and calls onEvent per event. Resolves when the server ends the stream cleanly (its timeoutSeconds),
 * rejects on any failure (a KubeApiError for an HTTP error status), and settles promptly once signal aborts.
 */
export type WatchFunction<T> = (request: WatchRequest, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal) => Promise<void>;

interface ListBody<T> {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

async function open(kubeConfig: KubeConfig, path: string, query: Record<string, string | undefined>, signal: AbortSignal): Promise<http.IncomingMessage> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  // Appended, not resolved: a server URL may carry a path prefix (API proxies), which new URL(path, base) would drop.
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const client = url.protocol === 'http:' ? http : https;
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = client.request(url, { ...options, method: 'GET', headers: { ...options.headers, accept: 'application/json' }, signal }, resolve);
    request.once('error', reject);
    request.end();
  });
  if (response.statusCode !== 200) throw await toApiError(response);
  return response;
}

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.once('error', reject);
    // A connection that drops mid-body emits 'close' without 'end'; after 'end' this reject is a no-op.
    response.once('close', () => reject(new Error('connection closed before the response ended')));
  });
}

async function toApiError(response: http.IncomingMessage): Promise<KubeApiError> {
  const code = response.statusCode ?? 0;
  let status: KubeStatus | undefined;
  try {
    status = JSON.parse(await readBody(response)) as KubeStatus;
  } catch {
    status = undefined;
  }
  const text = status?.message ?? http.STATUS_CODES[code] ?? 'unknown status';
  return new KubeApiError(code, status, `HTTP ${code}: ${text}`);
}

export function httpList<T>(kubeConfig: KubeConfig): ListFunction<T> {
  return async (request, signal) => {
    const response = await open(
      kubeConfig,
      request.path,
      { limit: String(request.limit), continue: request.continue, labelSelector: request.labelSelector },
      signal,
    );
    const body = JSON.parse(await readBody(response)) as ListBody<T>;
    // Items of a typed list carry no apiVersion/kind (watch events do); fill them in so cached objects look alike.
    const kind = body.kind?.replace(/List$/, '');
    const items = (body.items ?? []).map((item) => (kind && body.apiVersion ? { apiVersion: body.apiVersion, kind, ...item } : item));
    return { items, resourceVersion: body.metadata?.resourceVersion ?? '', continue: body.metadata?.continue || undefined };
  };
}

export function httpWatch<T>(kubeConfig: KubeConfig): WatchFunction<T> {
  return async (request, onEvent, signal) => {
    const response = await open(
      kubeConfig,
      request.path,
      {
        watch: 'true',
        resourceVersion: request.resourceVersion,
        allowWatchBookmarks: String(request.allowWatchBookmarks),
        timeoutSeconds: String(request.timeoutSeconds),
        labelSelector: request.labelSelector,
      },
      signal,
    );
    response.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      let pending = '';
      response.on('data', (chunk: string) => {
        pending += chunk;
        for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (!line) continue;
          try {
            onEvent(JSON.parse(line) as WatchEvent<T>);
          } catch (error) {
            // A garbled stream cannot be resumed mid-way; ending it makes the informer restart from its last version.
            response.destroy(error instanceof Error ? error : new Error(String(error)));
            return;
          }
        }
      });
      response.once('end', () => resolve());
      response.once('error', reject);
      response.once('close', () => reject(new Error('watch connection closed before the response ended')));
    });
  };
}
