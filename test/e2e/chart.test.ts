// charts/gatehouse and deploy/ against real helm and the real API server: lint, renders of the value combinations
// the chart is for (every object accepted by `kubectl apply --dry-run=server`), the schema's refusals as helm prints
// them, the CRDs and RBAC generated from their sources, the Secret generated once, the `helm test` script, and the
// operator and server run with the environment and RBAC the chart gives them.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValuesInput } from '../../src/deploy/values.js';
import { leaseRulesFor, watchedNamespaceRules } from '../../src/operator/rbac.js';
import { RESTRICTED } from '../../scripts/deploy-manifests.js';
import { REFUSED } from '../support/chart-cases.js';
import {
  apply,
  CHART_DIR,
  containerEnv,
  documents,
  inNamespace,
  named,
  podSpecOf,
  removeScratch,
  run,
  succeed,
  template,
  tokenKubeconfig,
  valuesFile,
  type KubeObject,
} from '../support/chart.js';
import { freshNamespace, kubeConfig } from '../support/e2e.js';
import { freePort } from '../support/free-port.js';
import { applyCrds, ROOT_ID, ROOT_SECRET, startOperatorProcess, startServer } from '../support/operator-stack.js';
import { startServeProcess } from '../support/process.js';
import { credentialsOf, eventually, mergePatch, Resources, tokenStatus } from './helpers.js';

const REPO = new URL('../../', import.meta.url);
const DSN = 'postgres://gatehouse:secret@postgres.db.svc:5432/gatehouse';

/** The objects pass `kubectl apply --dry-run=server`, one accepted line each, with no pod-security warning. */
async function expectAcceptedAsDryRun(objects: KubeObject[]): Promise<void> {
  const result = await apply(objects);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).not.toContain('PodSecurity');
  expect(
    result.stdout
      .trim()
      .split('\n')
      .filter((line) => line.endsWith('(server dry run)')),
  ).toHaveLength(objects.length);
}

interface Scenario {
  name: string;
  values: ValuesInput;
  /** Kinds (Kind/name) the render must hold, beside the ones every render has. */
  holds: string[];
  /** And must not. */
  lacks?: string[];
  check?(objects: KubeObject[]): void;
}

const envOf = (objects: KubeObject[], deployment: string) => podSpecOf(named(objects, 'Deployment', deployment)[0]!).containers[0]!.env ?? [];

const SCENARIOS: Scenario[] = [
  {
    name: 'the default values: SQLite on a volume, two operators',
    values: {},
    holds: [
      'Secret/gatehouse',
      'PersistentVolumeClaim/gatehouse-data',
      'ClusterRole/NS-gatehouse-operator',
      'Role/gatehouse-operator-lease',
      'Pod/gatehouse-test-token',
    ],
    lacks: ['Job/gatehouse-migrate', 'Ingress/gatehouse'],
    check(objects) {
      const server = named(objects, 'Deployment', 'gatehouse')[0]!;
      expect((server.spec as { strategy: unknown }).strategy).toEqual({ type: 'Recreate' });
      expect(named(objects, 'ConfigMap', 'gatehouse')[0]!.data).toMatchObject({ DATABASE_URL: 'sqlite:///data/gatehouse.sqlite' });
    },
  },
  {
    name: 'PostgreSQL with three replicas',
    values: { database: { type: 'postgres', dsn: DSN }, server: { replicas: 3 } },
    holds: ['Job/gatehouse-migrate', 'Secret/gatehouse-migrate', 'Secret/gatehouse'],
    lacks: ['PersistentVolumeClaim/gatehouse-data'],
    check(objects) {
      const server = named(objects, 'Deployment', 'gatehouse')[0]!;
      expect(server.spec).toMatchObject({ replicas: 3 });
      expect((server.spec as { strategy?: unknown }).strategy).toBeUndefined();
      expect(envOf(objects, 'gatehouse')).toContainEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'gatehouse', key: 'DATABASE_URL' } } });
      const job = named(objects, 'Job', 'gatehouse-migrate')[0]!;
      expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade' });
      expect(podSpecOf(job).containers[0]!.args).toEqual(['migrate']);
      const hookSecret = named(objects, 'Secret', 'gatehouse-migrate')[0]!;
      expect(Number(hookSecret.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations!['helm.sh/hook-weight']));
      expect(Buffer.from((hookSecret.data as { DATABASE_URL: string }).DATABASE_URL, 'base64').toString()).toBe(DSN);
    },
  },
  {
    name: 'existing Secrets for everything',
    values: {
      server: { existingSecret: 'own-server' },
      database: { type: 'postgres', existingSecret: 'own-database', existingSecretKey: 'dsn' },
      operator: { credentials: { existingSecret: 'own-operator', clientIdKey: 'id', clientSecretKey: 'secret' } },
    },
    holds: ['Job/gatehouse-migrate'],
    lacks: ['Secret/gatehouse', 'Secret/gatehouse-migrate'],
    check(objects) {
      expect(envOf(objects, 'gatehouse')).toContainEqual({ name: 'SYSTEM_SECRET', valueFrom: { secretKeyRef: { name: 'own-server', key: 'SYSTEM_SECRET' } } });
      expect(envOf(objects, 'gatehouse')).toContainEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'own-database', key: 'dsn' } } });
      expect(envOf(objects, 'gatehouse-operator')).toContainEqual({
        name: 'GATEHOUSE_CLIENT_SECRET',
        valueFrom: { secretKeyRef: { name: 'own-operator', key: 'secret' } },
      });
      expect(podSpecOf(named(objects, 'Job', 'gatehouse-migrate')[0]!).containers[0]!.env).toEqual([
        { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'own-database', key: 'dsn' } } },
      ]);
    },
  },
  {
    name: 'an operator for two namespaces',
    values: { operator: { watchNamespaces: ['TEAM_A', 'TEAM_B'] } },
    holds: ['Role/gatehouse-operator', 'RoleBinding/gatehouse-operator', 'Role/gatehouse-operator-lease'],
    lacks: ['ClusterRole/NS-gatehouse-operator'],
    check(objects) {
      expect(named(objects, 'Role', 'gatehouse-operator').map((role) => role.metadata.namespace)).toEqual(['TEAM_A', 'TEAM_B']);
      expect(envOf(objects, 'gatehouse-operator')).toContainEqual({ name: 'WATCH_NAMESPACES', value: 'TEAM_A,TEAM_B' });
    },
  },
  {
    name: 'an Ingress with TLS',
    values: { server: { ingress: { enabled: true, host: 'auth.example.com', tlsSecret: 'auth-tls' } } },
    holds: ['Ingress/gatehouse'],
    check(objects) {
      expect(named(objects, 'ConfigMap', 'gatehouse')[0]!.data).toMatchObject({ ISSUER: 'https://auth.example.com' });
    },
  },
  {
    name: 'every optional object',
    values: {
      database: { type: 'postgres', dsn: DSN },
      server: {
        issuer: 'https://auth.example.com',
        consentUrl: 'https://login.example.com/consent',
        settings: { ACCESS_TOKEN_LIFESPAN: '30m', CORS_ENABLED: true, BODY_LIMIT: 131072 },
        ingress: { enabled: true, host: 'auth.example.com', className: 'nginx', annotations: { 'example.com/a': 'b' } },
        autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 },
        podDisruptionBudget: { enabled: true },
        serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
        networkPolicy: { enabled: true, from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } }] },
        podAnnotations: { 'example.com/scrape': 'true' },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'auth', effect: 'NoSchedule' }],
        priorityClassName: 'system-cluster-critical',
      },
      operator: {
        serviceMonitor: { enabled: true },
        networkPolicy: { enabled: true },
        extraArgs: ['--resync=10m'],
        serviceAccount: { annotations: { a: 'b' } },
      },
      imagePullSecrets: [{ name: 'registry' }],
      commonLabels: { team: 'identity' },
    },
    holds: [
      'Ingress/gatehouse',
      'HorizontalPodAutoscaler/gatehouse',
      'PodDisruptionBudget/gatehouse',
      'ServiceMonitor/gatehouse',
      'ServiceMonitor/gatehouse-operator',
      'NetworkPolicy/gatehouse',
      'NetworkPolicy/gatehouse-operator',
      'Job/gatehouse-migrate',
    ],
    check(objects) {
      expect(named(objects, 'Deployment', 'gatehouse')[0]!.spec).not.toHaveProperty('replicas');
      expect(named(objects, 'ConfigMap', 'gatehouse')[0]!.data).toMatchObject({ ACCESS_TOKEN_LIFESPAN: '30m', CORS_ENABLED: 'true', BODY_LIMIT: '131072' });
      for (const object of objects) expect(object.metadata.labels, `${object.kind}/${object.metadata.name}`).toMatchObject({ team: 'identity' });
    },
  },
  {
    name: 'the operator alone, for an external server',
    values: { server: { enabled: false }, operator: { serverUrl: 'https://auth.example.com', credentials: { existingSecret: 'external-admin' } } },
    holds: ['Deployment/gatehouse-operator', 'Pod/gatehouse-test-token'],
    lacks: ['Deployment/gatehouse', 'Service/gatehouse', 'Secret/gatehouse', 'ConfigMap/gatehouse'],
    check(objects) {
      expect(envOf(objects, 'gatehouse-operator')).toContainEqual({ name: 'GATEHOUSE_SERVER_URL', value: 'https://auth.example.com' });
    },
  },
];

const MEDIA = ['Deployment', 'Job', 'Pod'];

/** The security settings every pod and container of the chart has, and the /tmp volume a read-only root needs. */
function expectLockedDown(object: KubeObject): void {
  const where = `${object.kind}/${object.metadata.name}`;
  const pod = podSpecOf(object);
  expect(pod.securityContext, where).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  expect(pod.securityContext!.runAsUser, where).toBeTypeOf('number');
  for (const container of pod.containers) {
    expect(container.securityContext, where).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext!.runAsUser, where).toBeTypeOf('number');
    const tmp = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
    expect(pod.volumes?.find((volume) => volume.name === tmp?.name)?.emptyDir, where).toBeDefined();
  }
}

const kindName = (object: KubeObject) => `${object.kind}/${object.metadata.name}`;

afterAll(removeScratch);

describe('the Helm chart', () => {
  const kc = kubeConfig();
  let release: string;
  const teams: string[] = [];

  beforeAll(async () => {
    await applyCrds(kc);
    await succeed('kubectl', ['apply', '-f', new URL('./fixtures/servicemonitor-crd.yaml', import.meta.url).pathname]);
    await succeed('kubectl', ['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=30s']);
    release = await freshNamespace(kc, 'chart');
    // Admission then refuses (a Pod) or warns about (a Deployment, a Job) what breaks the restricted standard.
    await succeed('kubectl', ['label', 'namespace', release, ...Object.entries(RESTRICTED).map(([key, value]) => `${key}=${value}`)]);
    teams.push(await freshNamespace(kc, 'team-a'), await freshNamespace(kc, 'team-b'));
  });

  const resolve = (values: ValuesInput): ValuesInput =>
    JSON.parse(JSON.stringify(values).replaceAll('TEAM_A', teams[0]!).replaceAll('TEAM_B', teams[1]!)) as ValuesInput;

  it('passes helm lint --strict with the default values and with each combination', async () => {
    for (const scenario of SCENARIOS) {
      const result = await run('helm', ['lint', '--strict', CHART_DIR, '-f', valuesFile(resolve(scenario.values))]);
      expect(result.code, `${scenario.name}: ${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  for (const scenario of SCENARIOS) {
    it(`renders ${scenario.name}; the API server accepts every object`, async () => {
      const objects = inNamespace(await template(resolve(scenario.values), { namespace: release }), release);
      const names = objects.map(kindName);
      const expand = (name: string) => name.replace('NS-', `${release}-`);
      for (const name of scenario.holds.map(expand)) expect(names).toContain(name);
      for (const name of (scenario.lacks ?? []).map(expand)) expect(names).not.toContain(name);
      scenario.check?.(JSON.parse(JSON.stringify(objects).replaceAll(teams[0]!, 'TEAM_A').replaceAll(teams[1]!, 'TEAM_B')) as KubeObject[]);
      for (const object of objects.filter((candidate) => MEDIA.includes(candidate.kind))) expectLockedDown(object);

      await expectAcceptedAsDryRun(objects);
    });
  }

  for (const refused of REFUSED) {
    it(`refuses ${refused.name}, and helm's message names the problem`, async () => {
      const result = await run('helm', ['template', 'gatehouse', CHART_DIR, '-f', valuesFile(refused.values)]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema(s)");
      for (const text of refused.helm) expect(result.stderr).toContain(text);
    });
  }

  it('refuses bad values at helm install too, before anything is created', async () => {
    const [first] = REFUSED;
    const result = await run('helm', ['install', 'refused', CHART_DIR, '-n', release, '-f', valuesFile(first!.values)]);
    expect(result.code).not.toBe(0);
    for (const text of first!.helm) expect(result.stderr).toContain(text);
    expect((await run('helm', ['status', 'refused', '-n', release])).code).not.toBe(0);
  });

  it("ships crds/ unchanged: the chart's CRDs are the generated ones", async () => {
    const files = readdirSync(new URL('crds/', REPO)).sort();
    expect(files.length).toBeGreaterThan(0);
    expect(readdirSync(join(CHART_DIR, 'crds')).sort()).toEqual(files);
    for (const file of files) expect(readFileSync(join(CHART_DIR, 'crds', file), 'utf8')).toBe(readFileSync(new URL(`crds/${file}`, REPO), 'utf8'));
    const rendered = named(documents(await succeed('helm', ['template', 'gatehouse', CHART_DIR, '--include-crds'])), 'CustomResourceDefinition');
    expect(rendered.map((crd) => crd.metadata.name).sort()).toEqual(files.map((file) => file.replace(/\.yaml$/, '')).sort());
  });

  it('renders the operator RBAC from src/operator/rbac.ts: a ClusterRole, or a Role per watched namespace, and the Lease Role', async () => {
    const all = await template({}, { namespace: release });
    expect(named(all, 'ClusterRole')).toHaveLength(1);
    expect(named(all, 'ClusterRole')[0]!.rules).toEqual(watchedNamespaceRules);
    const lease = named(all, 'Role', 'gatehouse-operator-lease')[0]!;
    expect(lease.rules).toEqual(leaseRulesFor('gatehouse-operator'));
    expect(envOf(all, 'gatehouse-operator')).toContainEqual({ name: 'LEASE_NAME', value: 'gatehouse-operator' });
    expect(named(all, 'ClusterRoleBinding')[0]).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: `${release}-gatehouse-operator` },
      subjects: [{ kind: 'ServiceAccount', name: 'gatehouse-operator', namespace: release }],
    });

    const scoped = await template({ operator: { watchNamespaces: teams } }, { namespace: release });
    expect(named(scoped, 'ClusterRole')).toEqual([]);
    for (const namespace of teams) {
      const role = scoped.find((object) => object.kind === 'Role' && object.metadata.namespace === namespace)!;
      expect(role.rules).toEqual(watchedNamespaceRules);
    }
    const single = await template({ operator: { replicas: 1, leaderElection: false } }, { namespace: release });
    expect(named(single, 'Role', 'gatehouse-operator-lease')).toEqual([]);
  });

  it('generates the Secret once: an upgrade keeps it, an uninstall leaves it, a new install adopts it; NOTES say how to read it', async () => {
    const namespace = await freshNamespace(kc, 'chart-install');
    const read = async () => {
      const secret = JSON.parse(await succeed('kubectl', ['get', 'secret', 'gatehouse', '-n', namespace, '-o', 'json'])) as { data: Record<string, string> };
      return Object.fromEntries(Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]));
    };
    try {
      const notes = await succeed('helm', ['install', 'gatehouse', CHART_DIR, '-n', namespace]);
      expect(notes).toContain(`kubectl -n ${namespace} get secret gatehouse -o jsonpath='{.data.ROOT_CLIENT_SECRET}' | base64 -d`);
      expect(notes).toContain(`kubectl -n ${namespace} port-forward svc/gatehouse 4444:4444`);
      expect(notes).toContain('curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials http://127.0.0.1:4444/oauth2/token');
      const first = await read();
      expect(Object.keys(first).sort()).toEqual(['COOKIE_SECRET', 'ROOT_CLIENT_ID', 'ROOT_CLIENT_SECRET', 'SYSTEM_SECRET']);
      expect(first.ROOT_CLIENT_ID).toBe('gatehouse-root');
      expect(first.SYSTEM_SECRET).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(first.ROOT_CLIENT_SECRET).toMatch(/^[A-Za-z0-9]{48}$/);

      await succeed('helm', ['upgrade', 'gatehouse', CHART_DIR, '-n', namespace, '--set', 'operator.workers=8']);
      expect(await read()).toEqual(first);
      const uninstalled = await succeed('helm', ['uninstall', 'gatehouse', '-n', namespace]);
      expect(uninstalled).toMatch(/kept due to the resource policy/);
      expect(await read()).toEqual(first);
      await succeed('helm', ['install', 'gatehouse', CHART_DIR, '-n', namespace]);
      expect(await read()).toEqual(first);
      expect(await succeed('helm', ['get', 'manifest', 'gatehouse', '-n', namespace])).toContain('kind: Secret');
    } finally {
      await run('helm', ['uninstall', 'gatehouse', '-n', namespace]);
    }
  });
});

describe('what the chart runs', () => {
  const kc = kubeConfig();

  it('the `helm test` script gets a token through the server URL and introspects it; a wrong secret fails at once', async () => {
    const pod = named(await template({}, { namespace: 'gatehouse' }), 'Pod')[0]!;
    expect(pod.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'test' });
    const container = podSpecOf(pod).containers[0]!;
    expect(container.command).toEqual(['node', '-e']);
    expect(container.env?.map((variable) => variable.name)).toEqual(['GATEHOUSE_SERVER_URL', 'GATEHOUSE_CLIENT_ID', 'GATEHOUSE_CLIENT_SECRET']);
    const script = container.args![0]!;
    const server = await startServer();
    const node = (secret: string) =>
      new Promise<{ code: number; stdout: string; stderr: string; ms: number }>((resolve) => {
        const started = Date.now();
        const env = { ...process.env, GATEHOUSE_SERVER_URL: server.url, GATEHOUSE_CLIENT_ID: ROOT_ID, GATEHOUSE_CLIENT_SECRET: secret };
        execFile(process.execPath, ['-e', script], { env, timeout: 60_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: Date.now() - started }),
        );
      });
    try {
      const ok = await node(ROOT_SECRET);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`ok: ${ROOT_ID} got a token from ${server.url} and it introspects as active`);
      const refused = await node('not-the-secret-0123456789abcdefghijkl');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('failed: /oauth2/token: 401');
      expect(refused.ms).toBeLessThan(10_000);
    } finally {
      await server.stop();
    }
  });

  for (const scope of ['all namespaces', 'a list of namespaces'] as const) {
    it(`a server and an operator with the environment, Secret and RBAC the chart gives them (operator watching ${scope}) do their work`, async () => {
      const release = await freshNamespace(kc, 'chart-run');
      const watched = await freshNamespace(kc, 'chart-app');
      await applyCrds(kc);
      const values: ValuesInput = scope === 'all namespaces' ? {} : { operator: { watchNamespaces: [watched] } };
      const objects = inNamespace(await template(values, { namespace: release }), release);
      const installed = objects.filter((object) => !object.metadata.annotations?.['helm.sh/hook']);
      const applied = await apply(installed, { dryRun: false });
      expect(applied.code, applied.stderr).toBe(0);

      // The server as its pod would start it, on a local SQLite file and port instead of /data and 4444.
      const serverContainer = podSpecOf(named(objects, 'Deployment', 'gatehouse')[0]!).containers[0]!;
      expect(serverContainer.args).toEqual(['serve']);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const serverEnv = await containerEnv(serverContainer, { name: 'gatehouse-0', namespace: release });
      const data = mkdtempSync(join(tmpdir(), 'gatehouse-chart-server-'));
      const server = await startServeProcess(
        { ...serverEnv, DATABASE_URL: `sqlite://${join(data, 'gatehouse.sqlite')}`, PORT: String(port), HOST: '127.0.0.1' },
        url,
      );
      let operator: Awaited<ReturnType<typeof startOperatorProcess>> | undefined;
      try {
        // On its first start the server registered the root client of the generated Secret, the operator's client.
        const root = { clientId: serverEnv.ROOT_CLIENT_ID!, clientSecret: serverEnv.ROOT_CLIENT_SECRET! };
        expect(root.clientId).toBe('gatehouse-root');
        expect(await tokenStatus(url, root)).toBe(200);

        // The operator with its pod's environment, and the ServiceAccount's token instead of the admin's certificate.
        // Its flags are left out: the helper gives it a free health port, where 8080 and 8081 may be taken here.
        const operatorContainer = podSpecOf(named(objects, 'Deployment', 'gatehouse-operator')[0]!).containers[0]!;
        expect(operatorContainer.args).toContain('--leader-elect=true');
        const operatorEnv = await containerEnv(operatorContainer, { name: 'gatehouse-operator-0', namespace: release });
        expect([operatorEnv.GATEHOUSE_CLIENT_ID, operatorEnv.GATEHOUSE_CLIENT_SECRET]).toEqual([root.clientId, root.clientSecret]);
        const token = (await succeed('kubectl', ['create', 'token', 'gatehouse-operator', '-n', release, '--duration=1h'])).trim();
        operator = await startOperatorProcess({
          kubeconfigPath: tokenKubeconfig(token),
          serverUrl: url,
          leaderElect: true,
          extraEnv: { ...operatorEnv, GATEHOUSE_SERVER_URL: url, WATCH_NAMESPACES: operatorEnv.WATCH_NAMESPACES ?? '' },
        });

        const resources = new Resources(kc, watched);
        await resources.create('app', { grantTypes: ['client_credentials'], secretName: 'app-credentials' }, { rotation: 'chart' });
        await resources.waitReady('app', 45_000);
        const first = credentialsOf(await resources.secret('app-credentials'));
        expect(await tokenStatus(url, first)).toBe(200);
        expect(await resources.events('app')).toContainEqual(expect.stringMatching(/^Normal Created/));

        // A KeyPolicy rotation on demand: the policy's status and the Secret's replacement.
        const custom = kc.makeApiClient(CustomObjectsApi);
        const policies = { group: 'gatehouse.dev', version: 'v1alpha1', plural: 'keypolicies', namespace: watched } as const;
        await custom.createNamespacedCustomObject({
          ...policies,
          body: {
            apiVersion: 'gatehouse.dev/v1alpha1',
            kind: 'KeyPolicy',
            metadata: { name: 'chart' },
            spec: { selector: { matchLabels: { rotation: 'chart' } }, rotationInterval: '24h', gracePeriod: '1s' },
          },
        });
        await eventually('the KeyPolicy to be Ready', async () => {
          const policy = (await custom.getNamespacedCustomObject({ ...policies, name: 'chart' })) as {
            status?: { conditions?: { type: string; status: string }[] };
          };
          return policy.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') || undefined;
        });
        await custom.patchNamespacedCustomObject(
          {
            group: 'gatehouse.dev',
            version: 'v1alpha1',
            plural: 'oauth2clients',
            namespace: watched,
            name: 'app',
            body: { metadata: { annotations: { 'gatehouse.dev/rotate': 'chart-1' } } },
          },
          mergePatch,
        );
        const rotated = await eventually('the rotated secret', async () => {
          const now = credentialsOf(await resources.secret('app-credentials'));
          return now.clientSecret !== first.clientSecret ? now : undefined;
        });
        expect(await tokenStatus(url, rotated)).toBe(200);

        // The replica leads through the Lease the chart names, in the release namespace.
        const holder = await succeed('kubectl', ['get', 'lease', 'gatehouse-operator', '-n', release, '-o', 'jsonpath={.spec.holderIdentity}']);
        expect(holder).toBe('gatehouse-operator-0');

        // Deleting the resource removes the client, the Secret and the finalizer.
        await resources.delete('app');
        await eventually('the resource to be gone', async () => ((await resources.find('app')) ? undefined : true));
        await eventually('the Secret to be gone', async () => ((await resources.secret('app-credentials')) ? undefined : true));
        expect(await tokenStatus(url, rotated)).toBe(401);

        expect(operator.output()).not.toMatch(/forbidden|"statusCode":403/i);
      } finally {
        await operator?.stop();
        await server.stop();
        rmSync(data, { recursive: true, force: true });
        const cluster = `${release}-gatehouse-operator`;
        await run('kubectl', ['delete', `clusterrole/${cluster}`, `clusterrolebinding/${cluster}`, '--ignore-not-found']);
      }
    }, 150_000);
  }
});

describe('deploy/gatehouse.yaml', () => {
  const kc = kubeConfig();
  const plain = documents(readFileSync(new URL('deploy/gatehouse.yaml', REPO), 'utf8'));

  /** What differs by design between helm's objects and plain ones: helm's labels, the config checksum. */
  const normalise = (object: KubeObject): KubeObject => {
    const copy = JSON.parse(JSON.stringify(object)) as KubeObject & { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } };
    delete copy.metadata.labels?.['helm.sh/chart'];
    delete copy.metadata.labels?.['app.kubernetes.io/managed-by'];
    const template = copy.spec?.template?.metadata;
    if (template?.annotations) {
      delete template.annotations['checksum/config'];
      if (!Object.keys(template.annotations).length) delete template.annotations;
    }
    return copy;
  };
  const byKindName = (a: KubeObject, b: KubeObject) => kindName(a).localeCompare(kindName(b));

  it("is the chart's default render for namespace gatehouse, without the Secret and the test pod", async () => {
    const rendered = inNamespace(await template({}, { namespace: 'gatehouse', args: ['--include-crds'] }), 'gatehouse');
    const expected = rendered.filter((object) => object.kind !== 'Secret' && !object.metadata.annotations?.['helm.sh/hook']).map(normalise);
    const actual = plain.filter((object) => object.kind !== 'Namespace').map(normalise);
    expect(actual.map(kindName).sort()).toEqual(expected.map(kindName).sort());
    expect(actual.sort(byKindName)).toEqual(expected.sort(byKindName));
    expect(plain[0]).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gatehouse', labels: RESTRICTED } });
  });

  it('is accepted by the API server', async () => {
    await applyCrds(kc);
    // The file creates the namespace; a dry run does not, so the objects in it need it to exist already.
    if ((await run('kubectl', ['get', 'namespace', 'gatehouse'])).code !== 0) await apply([plain[0]!], { dryRun: false });
    await expectAcceptedAsDryRun(plain);
  });
});
