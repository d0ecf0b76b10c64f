// List and watch requests on a collection path, over node:http(s) with the kubeconfig's TLS and credentials.
// client-node's Watch (re-checked on 2.0, where it became abortable and gained an inactivity timeout) still reports a
// failed watch as a bare status text without the Status body, and its list helpers are per type; the informer needs
// the Status (410 versus a refusal) and one path for every collection, so it speaks HTTP itself. The informer only sees the two function types below, so tests inject fakes.
import { KubeApiError, readBody, type KubeClient, type KubeStatus } from './kube-client.js';

export { KubeApiError, type KubeStatus };

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

/**
 * What the API server should answer with: whole objects, or only their metadata (PartialObjectMetadata), which is
 * how a controller watches a kind it only needs to be told about (Secrets it does not manage) without holding their
 * data in memory.
 */
export type Representation = 'objects' | 'metadata';

const METADATA_ACCEPT = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
};

export function httpList<T>(kube: KubeClient, representation: Representation = 'objects'): ListFunction<T> {
  const headers = representation === 'metadata' ? { accept: METADATA_ACCEPT.list } : undefined;
  return async (request, signal) => {
    const response = await kube.open(
      request.path,
      { limit: String(request.limit), continue: request.continue, labelSelector: request.labelSelector },
      signal,
      headers,
    );
    const body = JSON.parse(await readBody(response)) as ListBody<T>;
    // Items of a typed list carry no apiVersion/kind (watch events do); fill them in so cached objects look alike.
    const kind = body.kind?.replace(/List$/, '');
    const items = (body.items ?? []).map((item) => (kind && body.apiVersion ? { apiVersion: body.apiVersion, kind, ...item } : item));
    return { items, resourceVersion: body.metadata?.resourceVersion ?? '', continue: body.metadata?.continue || undefined };
  };
}

export function httpWatch<T>(kube: KubeClient, representation: Representation = 'objects'): WatchFunction<T> {
  const headers = representation === 'metadata' ? { accept: METADATA_ACCEPT.watch } : undefined;
  return async (request, onEvent, signal) => {
    const response = await kube.open(
      request.path,
      {
        watch: 'true',
        resourceVersion: request.resourceVersion,
        allowWatchBookmarks: String(request.allowWatchBookmarks),
        timeoutSeconds: String(request.timeoutSeconds),
        labelSelector: request.labelSelector,
      },
      signal,
      headers,
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
