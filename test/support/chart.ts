// helm and kubectl of the e2e control plane (tools/envtest), for tests of charts/gatehouse and deploy/.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { ValuesInput } from '../../src/deploy/values.js';
import { envtestBinDir, kubeconfigPath } from './e2e.js';

export const CHART_DIR = fileURLToPath(new URL('../../charts/gatehouse', import.meta.url));

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

let scratch: string | undefined;
/** A folder of this run for values files, rendered manifests, and helm's own cache and configuration. */
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'gatehouse-chart-'));
  return scratch;
}

/** For afterAll: the scratch folder goes. */
export function removeScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

let files = 0;
function scratchFile(name: string, text: string): string {
  const path = join(scratchDir(), `${++files}-${name}`);
  writeFileSync(path, text);
  return path;
}

/** Runs helm or kubectl against the control plane; resolves with the exit code, never rejects on a non-zero one. */
export function run(binary: 'helm' | 'kubectl', args: string[], kubeconfig = kubeconfigPath()): Promise<Run> {
  const home = scratchDir();
  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    HELM_CACHE_HOME: join(home, 'helm-cache'),
    HELM_CONFIG_HOME: join(home, 'helm-config'),
    HELM_DATA_HOME: join(home, 'helm-data'),
  };
  return new Promise((resolve, reject) => {
    execFile(join(envtestBinDir(), binary), args, { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      if (typeof code === 'number') resolve({ code, stdout, stderr });
      else reject(error);
    });
  });
}

/** Like run, but a non-zero exit is an error carrying the output. */
export async function succeed(binary: 'helm' | 'kubectl', args: string[], kubeconfig?: string): Promise<string> {
  const result = await run(binary, args, kubeconfig);
  if (result.code !== 0) throw new Error(`${binary} ${args.join(' ')} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

export function valuesFile(values: ValuesInput): string {
  return scratchFile('values.yaml', stringify(values));
}

/** `helm template` of the chart; every object, hooks and tests included. */
export async function template(values: ValuesInput, options: { release?: string; namespace: string; args?: string[] }): Promise<KubeObject[]> {
  const args = ['template', options.release ?? 'gatehouse', CHART_DIR, '-n', options.namespace, '-f', valuesFile(values), ...(options.args ?? [])];
  return documents(await succeed('helm', args));
}

export function documents(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJSON() as KubeObject | null)
    .filter((object): object is KubeObject => Boolean(object));
}

/** Namespaced objects without a namespace get the release's, as `helm install` gives them. */
export function inNamespace(objects: KubeObject[], namespace: string): KubeObject[] {
  return objects.map((object) =>
    CLUSTER_SCOPED.has(object.kind) || object.metadata.namespace ? object : { ...object, metadata: { ...object.metadata, namespace } },
  );
}

/** `kubectl apply` of the objects (a dry run unless told otherwise), with kubectl's default strict field validation. */
export function apply(objects: KubeObject[], options: { dryRun?: boolean; kubeconfig?: string } = {}): Promise<Run> {
  const file = scratchFile('manifests.yaml', objects.map((object) => `---\n${stringify(object)}`).join(''));
  return run('kubectl', ['apply', ...(options.dryRun === false ? [] : ['--dry-run=server']), '-f', file], options.kubeconfig);
}

export const named = (objects: KubeObject[], kind: string, name?: string): KubeObject[] =>
  objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));

/** A kubeconfig for the same API server that authenticates with a bearer token (a ServiceAccount's). */
export function tokenKubeconfig(token: string): string {
  const admin = parse(readFileSync(kubeconfigPath(), 'utf8')) as { clusters: unknown[]; contexts: { context: { cluster: string } }[] };
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: admin.clusters,
    users: [{ name: 'service-account', user: { token } }],
    contexts: [{ name: 'service-account', context: { cluster: admin.contexts[0]!.context.cluster, user: 'service-account' } }],
    'current-context': 'service-account',
  };
  return scratchFile('kubeconfig', stringify(kubeconfig));
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

export interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}

/**
 * The environment the kubelet would give a container of pod `pod`: ConfigMaps and Secrets read from the API server,
 * the downward API, and $(VAR) references to variables defined before, as Kubernetes expands them.
 */
export async function containerEnv(container: Container, pod: { name: string; namespace: string }): Promise<Record<string, string>> {
  const read = async (kind: 'configmap' | 'secret', name: string): Promise<Record<string, string>> => {
    const object = JSON.parse(await succeed('kubectl', ['get', kind, name, '-n', pod.namespace, '-o', 'json'])) as { data?: Record<string, string> };
    const data = object.data ?? {};
    return kind === 'secret' ? Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()])) : data;
  };
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, await read('configmap', source.configMapRef.name));
    if (source.secretRef) Object.assign(env, await read('secret', source.secretRef.name));
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) env[variable.name] = variable.value.replace(/\$\((\w+)\)/g, (reference, name: string) => env[name] ?? reference);
    else if (from?.secretKeyRef) env[variable.name] = (await read('secret', from.secretKeyRef.name))[from.secretKeyRef.key]!;
    else if (from?.configMapKeyRef) env[variable.name] = (await read('configmap', from.configMapKeyRef.name))[from.configMapKeyRef.key]!;
    else if (from?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = pod.namespace;
    else if (from?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = pod.name;
    else throw new Error(`cannot resolve ${variable.name}: ${JSON.stringify(from)}`);
  }
  return env;
}

/** The first container of a Deployment's, Job's or Pod's pod. */
export function podSpecOf(object: KubeObject): PodSpec {
  const spec = object.spec as { template?: { spec: PodSpec } } & PodSpec;
  return spec.template?.spec ?? spec;
}

export interface PodSpec {
  containers: (Container & { securityContext?: Record<string, unknown>; volumeMounts?: { name: string; mountPath: string }[] })[];
  securityContext?: Record<string, unknown>;
  volumes?: { name: string; emptyDir?: object; persistentVolumeClaim?: { claimName: string } }[];
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
}
