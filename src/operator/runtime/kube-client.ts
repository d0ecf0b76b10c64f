// The operator's connection to the Kubernetes API: the handful of REST calls it makes (its resources, Secrets,
// Events, a Lease, lists and watches) over node:https with one keep-alive agent. @kubernetes/client-node is loaded
// only for kubeconfigs whose credentials need its plugins (exec, auth-provider, a proxy, several files merged):
// importing it costs about 60 MiB of resident memory (its generated API models), which was almost half of the
// operator's RSS with 1,000 resources (docs/decisions.md, "A kube client of our own").
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

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

  /** client-node's ApiException calls it code; callers written against either read the same number. */
  get code(): number {
    return this.statusCode;
  }
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Content type of the body: JSON unless a patch strategy is named. */
  contentType?: 'application/json' | 'application/merge-patch+json';
  signal?: AbortSignal;
}

export interface KubeClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** One call; resolves with the parsed JSON body of a 2xx answer, rejects with a KubeApiError otherwise. */
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options?: RequestOptions): Promise<T>;
  /** A GET whose body the caller reads as it arrives (lists and watches); rejects with a KubeApiError unless 200. */
  open(path: string, query: Record<string, string | undefined>, signal: AbortSignal, headers?: Record<string, string>): Promise<http.IncomingMessage>;
}

/** What a request needs from the kubeconfig: where to, TLS material, and the Authorization header. */
interface Connection {
  server: string;
  tls: https.AgentOptions;
  authorization(): Promise<string | undefined>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The operator's kubeconfig: the file given, else $KUBECONFIG, else ~/.kube/config, else the pod's service account
 * (in-cluster), the order kubectl and client-go use.
 */
export async function loadKubeClient(path?: string, env: NodeJS.ProcessEnv = process.env): Promise<KubeClient> {
  const files = path ? [path] : (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length > 1) return new HttpsKubeClient(await fromClientNode(files.join(delimiter)));
  const file = files[0] ?? join(env.HOME ?? homedir(), '.kube', 'config');
  if (files.length === 1 || existsSync(file)) return new HttpsKubeClient(await fromKubeconfig(file));
  // Only now: a pod's operator never reads a kubeconfig file.
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(SERVICE_ACCOUNT, 'token'))) return new HttpsKubeClient(inCluster(env));
  throw new Error('no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod');
}

function inCluster(env: NodeJS.ProcessEnv): Connection {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(join(SERVICE_ACCOUNT, 'ca.crt')) },
    // Bound service-account tokens are rotated by the kubelet: read again, as client-go does, at most every minute.
    authorization: bearerFromFile(join(SERVICE_ACCOUNT, 'token')),
  };
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
  users?: { name: string; user?: Record<string, unknown> }[];
}

/** The credentials this module handles itself; anything else goes to client-node. */
const OWN_USER_FIELDS = new Set([
  'extensions',
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'username',
  'password',
]);
const OWN_CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);

async function fromKubeconfig(file: string): Promise<Connection> {
  const { parse } = await import('yaml');
  let config: KubeconfigFile;
  try {
    config = (parse(readFileSync(file, 'utf8')) ?? {}) as KubeconfigFile;
  } catch (error) {
    throw new Error(`cannot read the kubeconfig ${file}: ${(error as Error).message}`);
  }
  const contextName = config['current-context'];
  const context = config.contexts?.find((entry) => entry.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig ${file}: no current context${contextName ? ` named "${contextName}"` : ''}`);
  const cluster = config.clusters?.find((entry) => entry.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string')
    throw new Error(`kubeconfig ${file}: the current context's cluster "${context.cluster ?? ''}" has no server`);
  const user = config.users?.find((entry) => entry.name === context.user)?.user ?? {};
  if (Object.keys(user).some((key) => !OWN_USER_FIELDS.has(key)) || Object.keys(cluster).some((key) => !OWN_CLUSTER_FIELDS.has(key))) {
    return fromClientNode(file);
  }
  const base = dirname(file);
  const material = (data: unknown, path: unknown): Buffer | undefined => {
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    if (typeof path === 'string') return readFileSync(isAbsolute(path) ? path : join(base, path));
    return undefined;
  };
  const tls: https.AgentOptions = {};
  const ca = material(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = material(user['client-certificate-data'], user['client-certificate']);
  const key = material(user['client-key-data'], user['client-key']);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
  let authorization: () => Promise<string | undefined> = async () => undefined;
  if (typeof user.token === 'string') {
    const header = `Bearer ${user.token}`;
    authorization = async () => header;
  } else if (typeof user.tokenFile === 'string') {
    authorization = bearerFromFile(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile));
  } else if (typeof user.username === 'string' && typeof user.password === 'string') {
    const header = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    authorization = async () => header;
  }
  return { server: cluster.server, tls, authorization };
}

function bearerFromFile(file: string): () => Promise<string | undefined> {
  let token = '';
  let readAt = -Infinity;
  return async () => {
    if (performance.now() - readAt > 60_000) {
      token = readFileSync(file, 'utf8').trim();
      readAt = performance.now();
    }
    return `Bearer ${token}`;
  };
}

/** For kubeconfigs with plugins: client-node works out the credentials, this module still makes the calls. */
async function fromClientNode(kubeconfig: string): Promise<Connection> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  if (kubeconfig.includes(delimiter)) config.loadFromDefault({}, false);
  else config.loadFromFile(kubeconfig);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const connection: PluginConnection = {
    server: cluster.server,
    tls: {},
    authorization: async () => undefined,
    // Exec plugins hand out short-lived credentials: ask client-node for the options of every request.
    perRequest: async () => {
      const options: https.RequestOptions = {};
      await config.applyToHTTPSOptions(options);
      return options;
    },
  };
  return connection;
}

interface PluginConnection extends Connection {
  perRequest(): Promise<https.RequestOptions>;
}

class HttpsKubeClient implements KubeClient {
  readonly server: string;
  private readonly agent: http.Agent;

  constructor(readonly connection: Connection) {
    this.server = connection.server.replace(/\/+$/, '');
    const secure = this.server.startsWith('https:');
    // One keep-alive agent: every call reuses a TLS session instead of paying a handshake with client certificates.
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 16, ...connection.tls }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await this.send(method, path, options.query ?? {}, headers, body, options.signal);
    const text = await readBody(response);
    if ((response.statusCode ?? 0) >= 300) throw apiError(response.statusCode ?? 0, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async open(
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<http.IncomingMessage> {
    const response = await this.send('GET', path, query, headers, undefined, signal);
    if (response.statusCode !== 200) throw apiError(response.statusCode ?? 0, await readBody(response).catch(() => ''));
    return response;
  }

  private async send(
    method: string,
    path: string,
    query: Record<string, string | undefined>,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<http.IncomingMessage> {
    // Appended, not resolved: a server URL may carry a path prefix (API proxies), which new URL(path, base) would drop.
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    const plugin = (this.connection as Partial<PluginConnection>).perRequest ? await (this.connection as PluginConnection).perRequest() : undefined;
    const authorization = await this.connection.authorization();
    const requestOptions: https.RequestOptions = {
      ...(plugin ?? { agent: this.agent }),
      method,
      headers: { accept: 'application/json', ...plugin?.headers, ...(authorization ? { authorization } : {}), ...headers },
      ...(signal ? { signal } : {}),
    };
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = transport.request(url, requestOptions, resolve);
      request.once('error', reject);
      request.end(body);
    });
  }
}

function apiError(code: number, text: string): KubeApiError {
  let status: KubeStatus | undefined;
  try {
    status = JSON.parse(text) as KubeStatus;
  } catch {
    status = undefined;
  }
  return new KubeApiError(code, status, `HTTP ${code}: ${status?.message ?? http.STATUS_CODES[code] ?? 'unknown status'}`);
}

export function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.once('error', reject);
    // A connection that drops mid-body emits 'close' without 'end'; after 'end' this reject is a no-op.
    response.once('close', () => reject(new Error('connection closed before the response ended')));
  });
}

/** 404 from either client (ours, or client-node's ApiException in tests and plugins). */
export function isNotFound(error: unknown): boolean {
  return statusCodeOf(error) === 404;
}

export function statusCodeOf(error: unknown): number | undefined {
  const candidate = error as { statusCode?: unknown; code?: unknown } | undefined;
  if (typeof candidate?.statusCode === 'number') return candidate.statusCode;
  return typeof candidate?.code === 'number' ? candidate.code : undefined;
}
