// The Helm chart's values: the one source of charts/gatehouse/values.yaml (defaults and comments, from the
// descriptions), values.schema.json and the values reference in docs/helm.md. `npm run generate` writes them.
import { z } from 'zod';
import { configKeys } from '../config/schema.js';
import { jsonSchemaOf, RULES, satisfies } from './rules.js';

/** The image's user and group (Dockerfile): numeric, so runAsNonRoot can be checked without /etc/passwd. */
export const IMAGE_UID = 10001;
export const SERVER_PORT = 4444;
export const OPERATOR_METRICS_PORT = 8080;
export const OPERATOR_HEALTH_PORT = 8081;

// Patterns in RE2 syntax: helm checks them with Go's regexp, zod with JavaScript's, and both must agree.
const HTTP_URL = 'https?://[^/\\s?#]+(/\\S*)?';
const DNS_SUBDOMAIN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';

const optional = (pattern: string) => new RegExp(`^(${pattern})?$`);
const optionalUrl = z.string().regex(optional(HTTP_URL), 'must be an absolute http(s) URL, or empty');
const optionalName = z.string().regex(optional(DNS_SUBDOMAIN), 'must be a Kubernetes object name (DNS subdomain), or empty');
const secretKey = z.string().regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key: letters, digits, -, _ and .');
const strings = z.record(z.string(), z.string());
// Passed to Kubernetes as they are; the API server checks them.
const kubeObject = z.record(z.string(), z.unknown());
const kubeList = z.array(kubeObject);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** The server settings the chart sets itself, from other values or the Secret; the rest may go in server.settings. */
export const MANAGED_SETTINGS = [
  'DATABASE_URL',
  'SYSTEM_SECRET',
  'COOKIE_SECRET',
  'FORCE_ROOT_CLIENT_CREDENTIALS',
  'ISSUER',
  'CONSENT_URL',
  'PORT',
  'HOST',
  'LOG_LEVEL',
] as const;
const freeSettings = configKeys.filter((key) => !(MANAGED_SETTINGS as readonly string[]).includes(key)) as [string, ...string[]];

const scheduling = {
  podAnnotations: strings.default({}).describe('Annotations of the pods.'),
  podLabels: strings.default({}).describe('Labels of the pods, besides the chart\'s own.'),
  nodeSelector: strings.default({}),
  tolerations: kubeList.default([]),
  affinity: kubeObject.default({}),
  priorityClassName: z.string().default(''),
};
const resources = kubeObject.describe('Requests and limits of the container.');

const serviceMonitor = z
  .object({
    enabled: z.boolean().default(false).describe('A Prometheus Operator ServiceMonitor (monitoring.coreos.com/v1); the CRD must be installed.'),
    interval: z
      .string()
      .regex(/^[0-9]+(ms|s|m|h)$/, 'must be a duration such as 30s')
      .default('30s'),
    labels: strings.default({}).describe('Labels the Prometheus instance selects ServiceMonitors by.'),
  })
  .strict();

const networkPolicy = (what: string) =>
  z
    .object({
      enabled: z.boolean().default(false).describe(`A NetworkPolicy that admits traffic to ${what} only.`),
      from: kubeList.default([]).describe('NetworkPolicyPeers allowed in; empty: any source (still only to those ports).'),
    })
    .strict();

const server = z
  .object({
    enabled: z.boolean().default(true).describe('Run the Gatehouse server; false to manage an external one with the operator.'),
    replicas: z.number().int().min(1).default(1).describe('More than one needs database.type=postgres.'),
    issuer: optionalUrl.default('').describe('ISSUER: the public URL of the server. Empty: the Ingress host (https with a tlsSecret) when there is one, else the Service URL.'),
    consentUrl: optionalUrl.default('').describe('CONSENT_URL: the login and consent app browsers are sent to. Empty: the server\'s default.'),
    logLevel: logLevel.default('info'),
    settings: z
      .partialRecord(z.enum(freeSettings), z.union([z.string(), z.number(), z.boolean()]))
      .default({})
      .describe('Further server settings (environment variables of `gatehouse serve --help`), e.g. ACCESS_TOKEN_LIFESPAN: 30m.'),
    rootClient: z
      .object({
        id: z
          .string()
          .regex(/^[^:\s]+$/, 'must not contain ":" or spaces')
          .default('gatehouse-root')
          .describe('Id of the root client the server creates on first start (FORCE_ROOT_CLIENT_CREDENTIALS); the operator uses it.'),
      })
      .strict()
      .prefault({}),
    existingSecret: optionalName
      .default('')
      .describe('A Secret of yours with SYSTEM_SECRET, COOKIE_SECRET, ROOT_CLIENT_ID and ROOT_CLIENT_SECRET; empty: the chart generates one once.'),
    service: z
      .object({
        type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
        port: z.number().int().min(1).max(65535).default(SERVER_PORT).describe('The container listens on 4444 whatever this is.'),
        annotations: strings.default({}),
      })
      .strict()
      .prefault({}),
    persistence: z
      .object({
        enabled: z.boolean().default(true).describe('SQLite on a PersistentVolumeClaim; false: an emptyDir, lost with the pod.'),
        size: z.string().default('1Gi').describe('The database holds clients, keys and unexpired tokens.'),
        storageClass: z.string().default('').describe('Empty: the cluster\'s default StorageClass.'),
        existingClaim: optionalName.default('').describe('A PersistentVolumeClaim of yours instead of the chart\'s.'),
      })
      .strict()
      .prefault({})
      .describe('The SQLite volume at /data (database.type=sqlite only).'),
    ingress: z
      .object({
        enabled: z.boolean().default(false).describe('An Ingress for the server\'s Service.'),
        className: z.string().default('').describe('Empty: the cluster\'s default IngressClass.'),
        annotations: strings.default({}),
        host: optionalName.default('').describe('The public host name.'),
        path: z.string().startsWith('/').default('/').describe('Served with pathType Prefix.'),
        tlsSecret: optionalName.default('').describe('Secret with the TLS certificate for host; empty: no TLS section.'),
      })
      .strict()
      .prefault({}),
    autoscaling: z
      .object({
        enabled: z.boolean().default(false).describe('A HorizontalPodAutoscaler on CPU (database.type=postgres only).'),
        minReplicas: z.number().int().min(1).default(2),
        maxReplicas: z.number().int().min(1).default(5).describe('At least minReplicas; the API server refuses less.'),
        targetCPUUtilizationPercentage: z.number().int().min(1).max(100).default(80),
      })
      .strict()
      .prefault({}),
    podDisruptionBudget: z
      .object({
        enabled: z.boolean().default(false).describe('A PodDisruptionBudget for the server.'),
        maxUnavailable: z.number().int().min(1).default(1),
      })
      .strict()
      .prefault({}),
    serviceMonitor: serviceMonitor.prefault({}),
    networkPolicy: networkPolicy('the server\'s HTTP port').prefault({}),
    resources: resources.default({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } }),
    ...scheduling,
  })
  .strict();

const database = z
  .object({
    type: z.enum(['sqlite', 'postgres']).default('sqlite').describe('sqlite: one replica, file on server.persistence. postgres: any number of replicas.'),
    dsn: z
      .string()
      .regex(optional('postgres(ql)?://\\S+'), 'must be a postgres:// URL, or empty')
      .default('')
      .describe('postgres://user:password@host:5432/database; kept in the chart\'s Secret.'),
    existingSecret: optionalName.default('').describe('A Secret of yours holding the DSN, instead of database.dsn.'),
    existingSecretKey: secretKey.default('DATABASE_URL').describe('The key of the DSN in database.existingSecret.'),
  })
  .strict()
  .describe('PostgreSQL is migrated by a pre-install/pre-upgrade hook Job (`gatehouse migrate`); SQLite migrates at start.');

const operator = z
  .object({
    enabled: z.boolean().default(true).describe('Run the operator, which keeps OAuth2Client and KeyPolicy resources in line with the server.'),
    replicas: z.number().int().min(1).default(2).describe('One leads (a Lease in the release namespace); the others stand by.'),
    leaderElection: z.boolean().default(true).describe('--leader-elect; needed with more than one replica.'),
    watchNamespaces: z
      .array(z.string().regex(new RegExp(`^${DNS_SUBDOMAIN}$`), 'must be a namespace name'))
      .default([])
      .describe('Namespaces to watch, each given a Role; empty: all, through a ClusterRole.'),
    selector: z.string().default('').describe('Only resources matching this label selector.'),
    serverUrl: optionalUrl.default('').describe('The Gatehouse server to manage. Empty: the bundled server\'s Service.'),
    credentials: z
      .object({
        existingSecret: optionalName.default('').describe('Secret with the management client\'s id and secret. Empty: the bundled server\'s root client.'),
        clientIdKey: secretKey.default('CLIENT_ID').describe('Key of the client id in credentials.existingSecret.'),
        clientSecretKey: secretKey.default('CLIENT_SECRET').describe('Key of the client secret in credentials.existingSecret.'),
      })
      .strict()
      .prefault({}),
    workers: z.number().int().min(1).max(64).default(4).describe('Concurrent reconciles.'),
    logLevel: logLevel.default('info'),
    extraArgs: z.array(z.string()).default([]).describe('More `gatehouse operator` flags, e.g. --resync=10m.'),
    serviceAccount: z
      .object({
        create: z.boolean().default(true).describe('False: use serviceAccount.name, made by you.'),
        name: optionalName.default('').describe('Empty: <fullname>-operator.'),
        annotations: strings.default({}).describe('E.g. for a cloud workload identity.'),
      })
      .strict()
      .prefault({}),
    rbac: z
      .object({ create: z.boolean().default(true).describe('The (Cluster)Roles and bindings, generated from src/operator/rbac.ts.') })
      .strict()
      .prefault({}),
    serviceMonitor: serviceMonitor.prefault({}),
    networkPolicy: networkPolicy('the operator\'s metrics and health ports').prefault({}),
    resources: resources.default({ requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '384Mi' } }),
    ...scheduling,
  })
  .strict();

export const valuesSchema = z
  .object({
    global: kubeObject.optional().describe('Set by parent charts.'),
    nameOverride: z.string().default('').describe('Replaces "gatehouse" in object names.'),
    fullnameOverride: z.string().default('').describe('The base name of every object; empty: the release name, with "-gatehouse" unless it holds it.'),
    image: z
      .object({
        repository: z.string().min(1).default('docker.io/library/gatehouse').describe('One image for the server, the operator, migrations and tests.'),
        tag: z.string().default('').describe('Empty: the chart\'s appVersion.'),
        pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      })
      .strict()
      .prefault({}),
    imagePullSecrets: z
      .array(z.object({ name: z.string().min(1) }).strict())
      .default([])
      .describe('Secrets to pull the image with, as [{name: …}].'),
    commonLabels: strings.default({}).describe('Labels on every object.'),
    podSecurityContext: kubeObject
      .default({ runAsNonRoot: true, runAsUser: IMAGE_UID, runAsGroup: IMAGE_UID, fsGroup: IMAGE_UID, seccompProfile: { type: 'RuntimeDefault' } })
      .describe('Of every pod; fsGroup makes the SQLite volume writable.'),
    containerSecurityContext: kubeObject
      .default({
        runAsNonRoot: true,
        runAsUser: IMAGE_UID,
        runAsGroup: IMAGE_UID,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      })
      .describe('Of every container; the root filesystem is read-only, /tmp and /data are volumes.'),
    server: server.prefault({}),
    database: database.prefault({}),
    operator: operator.prefault({}),
    tests: z
      .object({ enabled: z.boolean().default(true).describe('The `helm test` pod: a token from the server, introspected.') })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((values, ctx) => {
    for (const rule of RULES) if (!satisfies(values, { anyOf: rule.anyOf })) ctx.addIssue({ code: 'custom', path: rule.path, message: rule.message });
  })
  .meta({ allOf: RULES.map(jsonSchemaOf) });

export type Values = z.output<typeof valuesSchema>;
export type ValuesInput = z.input<typeof valuesSchema>;

/** The chart's default values. */
export function defaultValues(): Values {
  return valuesSchema.parse({});
}
