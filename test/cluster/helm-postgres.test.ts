// The chart with PostgreSQL and three server replicas, in a real cluster: PostgreSQL runs in the cluster from a
// locally built image of Debian's package, the migration hook Job prepares it, a client created through one replica
// authenticates through the others, and a server pod deleted under load loses no request that one retry does not
// recover.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKit, eventually } from '../support/cluster-kit.js';
import { clusterUnderTest, gatehouseImage, imageValues, postgresImage } from '../support/cluster-images.js';
import { ACROSS_REPLICAS, LOAD_WITH_ONE_RETRY } from './fixtures/pod-scripts.js';

const RELEASE = 'gatehouse-pg';
const NS = 'gatehouse-pg';
const CHART = new URL('../../charts/gatehouse', import.meta.url).pathname;
const DATABASE_PASSWORD = 'a-test-only-database-password';
const DSN = `postgres://gatehouse:${DATABASE_PASSWORD}@postgres.${NS}.svc:5432/gatehouse`;

describe('helm install on a real cluster (PostgreSQL, three server replicas)', () => {
  let kit: ClusterKit;
  let image: { repository: string; tag: string; reference: string };

  const rootEnv = [
    { name: 'ROOT_CLIENT_ID', valueFrom: { secretKeyRef: { name: RELEASE, key: 'ROOT_CLIENT_ID' } } },
    { name: 'ROOT_CLIENT_SECRET', valueFrom: { secretKeyRef: { name: RELEASE, key: 'ROOT_CLIENT_SECRET' } } },
  ];

  async function serverPods(): Promise<{ name: string; ip: string }[]> {
    const pods = await kit.json<{
      items: { metadata: { name: string; deletionTimestamp?: string }; status: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
    }>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=server']);
    return pods.items
      .filter((pod) => !pod.metadata.deletionTimestamp && pod.status.podIP && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((pod) => ({ name: pod.metadata.name, ip: pod.status.podIP! }));
  }

  beforeAll(async () => {
    kit = new ClusterKit(clusterUnderTest());
    image = await gatehouseImage();
    const postgres = await postgresImage();
    await kit.must(['create', 'namespace', NS]);
    await kit.apply({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'postgres', namespace: NS },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'postgres' } },
            template: {
              metadata: { labels: { app: 'postgres' } },
              spec: {
                containers: [
                  {
                    name: 'postgres',
                    image: postgres.reference,
                    imagePullPolicy: 'IfNotPresent',
                    env: [
                      { name: 'POSTGRES_PASSWORD', value: DATABASE_PASSWORD },
                      { name: 'POSTGRES_USER', value: 'gatehouse' },
                      { name: 'POSTGRES_DB', value: 'gatehouse' },
                    ],
                    ports: [{ containerPort: 5432 }],
                    readinessProbe: { tcpSocket: { port: 5432 }, periodSeconds: 1 },
                    volumeMounts: [{ name: 'data', mountPath: postgres.dataDir }],
                  },
                ],
                volumes: [{ name: 'data', emptyDir: {} }],
              },
            },
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'postgres', namespace: NS },
          spec: { selector: { app: 'postgres' }, ports: [{ port: 5432, targetPort: 5432 }] },
        },
      ],
    });
    await kit.must(['rollout', 'status', 'deployment/postgres', '-n', NS, '--timeout=180s'], { timeoutMs: 190_000 });
  });

  afterAll(async () => {
    await kit?.helm(['uninstall', RELEASE, '--namespace', NS, '--wait']);
    await kit?.kubectl(['delete', 'namespace', NS, '--wait=false']);
  });

  it('installs with three server replicas on PostgreSQL: the migration hook runs first and every pod becomes Ready', async () => {
    const installed = await kit.helm([
      'install',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      ...imageValues(image),
      '--set',
      'database.type=postgres',
      '--set',
      `database.dsn=${DSN}`,
      '--set',
      'server.replicas=3',
      '--set',
      'operator.replicas=1',
      '--wait',
      '--timeout',
      '6m',
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(await serverPods()).toHaveLength(3);
  });

  it('a client created through one replica gets tokens through the other two', async () => {
    const pods = await serverPods();
    const output = await kit.runNode({
      namespace: NS,
      name: 'across-replicas',
      image: image.reference,
      script: ACROSS_REPLICAS,
      env: [{ name: 'SERVER_URLS', value: pods.map((pod) => `http://${pod.ip}:4444`).join(',') }, ...rootEnv],
    });
    const result = JSON.parse(output.trim().split('\n').pop()!) as { clientId: string; results: { url: string; active: boolean; clientId: string }[] };
    expect(result.results).toHaveLength(2);
    for (const through of result.results) expect(through).toMatchObject({ active: true, clientId: result.clientId });
  });

  it('deleting a server pod mid-load loses no request that one retry does not recover', async () => {
    const load = kit.runNode({
      namespace: NS,
      name: 'load',
      image: image.reference,
      script: LOAD_WITH_ONE_RETRY,
      env: [{ name: 'SERVER_URL', value: `http://${RELEASE}.${NS}.svc:4444` }, { name: 'DURATION_MS', value: '20000' }, ...rootEnv],
      timeoutMs: 120_000,
    });
    // Once the load runs, one server pod goes the way a node drain or a rollout takes it: deleted, shut down gracefully.
    await eventually('the load pod to run', async () =>
      (await kit.must(['get', 'pod', 'load', '-n', NS, '-o', 'jsonpath={.status.phase}'])) === 'Running' ? true : undefined,
    );
    const loadRunning = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const [victim] = await serverPods();
    await kit.must(['delete', 'pod', victim!.name, '-n', NS, '--wait=false']);
    // Gone (its 5 s of grace over, its process ended) while the load still ran: the deletion fell inside the window.
    await eventually(
      `pod ${victim!.name} to be gone`,
      async () => ((await kit.kubectl(['get', 'pod', victim!.name, '-n', NS])).code !== 0 ? true : undefined),
      15_000,
    );
    expect(Date.now() - loadRunning).toBeLessThan(20_000);
    const counts = JSON.parse((await load).trim().split('\n').pop()!) as { ok: number; retried: number; lost: number; errors: string[] };
    expect(counts.lost, counts.errors.join('; ')).toBe(0);
    expect(counts.ok).toBeGreaterThan(100);
    await eventually('three Ready server pods again', async () => ((await serverPods()).length === 3 ? true : undefined), 120_000);
  });
});
