// The real one-node cluster does what the chart tests rely on: its node is Ready, pods of a locally built image run,
// a Service reaches them through kube-proxy, CoreDNS resolves the Service's name for another pod, `kubectl logs` and
// `kubectl exec` reach the kubelet, a Deployment scales; and a second cluster beside it leaves nothing once stopped.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { buildCImage } from '../../tools/cluster/c-image.js';
import { startRealCluster } from '../../tools/cluster/cluster.js';
import { kubectl } from '../../tools/cluster/kubectl.js';
import { clusterAccess, freshPodNamespace, importImage } from '../support/cluster.js';
import { kubeConfig } from '../support/e2e.js';
import { eventually } from '../e2e/helpers.js';

const PROBE_IMAGE = 'gatehouse.local/probe:1';
const PROBE_SOURCE = new URL('./fixtures/probe.c', import.meta.url).pathname;
const REQUESTS = 20;

const isReady = (pod: V1Pod): boolean => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('the real one-node cluster', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const { kubeconfigPath, binDir } = clusterAccess();
  const run = (args: string[]) => kubectl({ binDir, kubeconfig: kubeconfigPath }, args);
  let scratch: string;
  let namespace: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'cluster-smoke-'));
    const archive = join(scratch, 'probe.oci.tar');
    await buildCImage({ programs: { probe: PROBE_SOURCE }, out: archive, reference: PROBE_IMAGE, config: { Entrypoint: ['/probe'] } });
    await importImage(archive);
    namespace = await freshPodNamespace(kc, 'smoke');
  });

  afterAll(async () => {
    if (namespace) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('has one Ready node at the network namespace address, running containerd', async () => {
    const nodes = (await core.listNode()).items;
    expect(nodes.map((node) => node.metadata?.name)).toEqual([inject('clusterNodeName')]);
    const [node] = nodes;
    expect(node?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).toBe(new URL(inject('clusterServer')).hostname);
    expect(node?.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);
  });

  it('runs a Deployment of a locally built image, scales it to 2, and routes its Service to both pods by DNS name', async () => {
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: 'web',
                  image: PROBE_IMAGE,
                  imagePullPolicy: 'Never',
                  args: ['serve', '8080'],
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    await core.createNamespacedService({ namespace, body: { metadata: { name: 'web' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } } });
    const readyPods = async (count: number) => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items.filter(
        (pod) => isReady(pod) && !pod.metadata?.deletionTimestamp,
      );
      return pods.length === count ? pods.map((pod) => pod.metadata!.name!) : undefined;
    };
    await eventually('1 web pod Ready', () => readyPods(1), 60_000);

    await run(['scale', 'deployment/web', '--replicas=2', '-n', namespace]);
    const webPods = await eventually('2 web pods Ready after scaling', () => readyPods(2), 60_000);
    // kube-proxy routes to what the Service's EndpointSlices list, which follows the pods' readiness a moment later.
    await eventually(
      '2 ready endpoints of Service web',
      async () => {
        const slices = (await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: 'kubernetes.io/service-name=web' })).items;
        const ready = slices.flatMap((slice) => slice.endpoints ?? []).filter((endpoint) => endpoint.conditions?.ready);
        return ready.length === 2 ? true : undefined;
      },
      60_000,
    );

    const name = `web.${namespace}.svc.cluster.local`;
    const clusterIP = (await core.readNamespacedService({ name: 'web', namespace })).spec?.clusterIP;
    /** Runs a client pod that asks the Service REQUESTS times; which pods answered. */
    const podsAnswering = async (attempt: number): Promise<Set<string>> => {
      const client = `client-${attempt}`;
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: client },
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'client', image: PROBE_IMAGE, imagePullPolicy: 'Never', args: ['get', name, '80', String(REQUESTS), '60'] }],
          },
        },
      });
      const phase = await eventually(
        'the client pod to finish',
        async () => {
          const pod = await core.readNamespacedPod({ name: client, namespace });
          return ['Succeeded', 'Failed'].includes(pod.status?.phase ?? '') ? pod.status?.phase : undefined;
        },
        90_000,
      );
      const logs = await run(['logs', client, '-n', namespace]);
      expect(phase, logs).toBe('Succeeded');
      const lines = logs.trim().split('\n');
      expect(lines).toHaveLength(REQUESTS);
      // Every answer came through the Service's address, from one of its pods.
      for (const line of lines) expect(line).toMatch(new RegExp(`^${name.replaceAll('.', '\\.')} ${clusterIP}: hello from (\\S+)$`));
      return new Set(lines.map((line) => line.split(' ').pop()!));
    };
    // Both pods answer: the chance that kube-proxy's random choice picks one pod 20 times running is 2 in a million.
    // kube-proxy programs the new endpoint a moment after the EndpointSlice lists it, so a client that ran in between
    // met only the first pod; a few more clients, a second apart, rule that out.
    let answeredBy = new Set<string>();
    for (let attempt = 1; attempt <= 3 && answeredBy.size < 2; attempt++) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 1000));
      answeredBy = new Set([...answeredBy, ...(await podsAnswering(attempt))]);
    }
    expect([...answeredBy].sort()).toEqual([...webPods].sort());

    // The kubelet serves logs and exec to the API server; the pod's search path resolves the short name.
    expect(await run(['logs', webPods[0]!, '-n', namespace])).toContain(`listening on 8080 as ${webPods[0]}`);
    expect(await run(['exec', webPods[0]!, '-n', namespace, '--', '/probe', 'get', 'web', '80', '1', '10'])).toMatch(/^web \S+: hello from web-/);
  });

  it('starts a second cluster beside it on its own subnet, whose stop leaves nothing behind', async () => {
    const second = await startRealCluster();
    const runDir = second.runDir;
    try {
      expect(second.server).not.toBe(inject('clusterServer'));
      const nodes = await kubectl({ binDir, kubeconfig: second.kubeconfigPath }, ['get', 'nodes', '-o', 'name']);
      expect(nodes.trim()).toBe(`node/${second.nodeName}`);
    } finally {
      await second.stop();
    }
    expect(existsSync(runDir)).toBe(false);
    expect(existsSync(`/run/netns/${second.nodeName}`)).toBe(false);
    expect(existsSync(join('/sys/fs/cgroup/memory', basename(runDir)))).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(runDir);
  });
});
