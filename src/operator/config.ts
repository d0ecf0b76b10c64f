import { hostname } from 'node:os';
import { z } from 'zod';
import { durationSetting } from '../config/duration.js';

const BIND_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:]*):(\d{1,5})$/;

/** `host:port` or `:port` (every address), as controller-runtime's bind-address flags take them. */
function parseBindAddress(text: string, context: z.RefinementCtx): { host: string | undefined; port: number } {
  const match = BIND_ADDRESS.exec(text);
  if (!match) {
    context.addIssue({ code: 'custom', message: 'must be host:port or :port (e.g. :8080)' });
    return z.NEVER;
  }
  const port = Number(match[2]);
  if (port > 65535) {
    context.addIssue({ code: 'custom', message: 'the port must be at most 65535' });
    return z.NEVER;
  }
  // ":port" is every address of both families, as in controller-runtime: Node listens on "::" when given no host.
  return { host: match[1]!.replace(/^\[|\]$/g, '') || undefined, port };
}

const bindAddress = z.string().transform(parseBindAddress);

/** Operator settings; each has a flag and an environment variable (flags win). */
export const operatorConfigSchema = z
  .object({
    serverUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'),
    clientId: z.string().min(1, 'is required (the operator authenticates to the server with its own client)'),
    clientSecret: z.string().min(1, 'is required'),
    namespaces: z
      .string()
      .default('')
      .transform((text) =>
        text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    selector: z.string().optional(),
    workers: z.coerce.number().int().min(1).max(64).default(4),
    resync: durationSetting('5m'),
    driftCheck: durationSetting('30s'),
    healthPort: z.coerce.number().int().min(0).max(65535).default(8081),
    healthHost: z.string().default('0.0.0.0'),
    // controller-runtime's names, which manifests and charts written for other operators already use; they win over
    // the port and host settings above.
    healthProbeBindAddress: bindAddress.optional(),
    metricsBindAddress: z
      .string()
      .transform((text, context) => (text === '0' ? ('off' as const) : parseBindAddress(text, context)))
      .optional(),
    leaderElect: z
      .union([z.boolean(), z.enum(['true', 'false'])])
      .default(true)
      .transform((v) => v === true || v === 'true'),
    leaseNamespace: z.string().default('default'),
    leaseName: z.string().default('gatehouse-operator'),
    identity: z.string().default(`${hostname()}-${process.pid}`),
    kubeconfig: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type OperatorConfig = z.output<typeof operatorConfigSchema>;

/** Flag name → environment variable, so errors can name what the person set. */
export const OPERATOR_ENV: Record<keyof OperatorConfig, string> = {
  serverUrl: 'GATEHOUSE_SERVER_URL',
  clientId: 'GATEHOUSE_CLIENT_ID',
  clientSecret: 'GATEHOUSE_CLIENT_SECRET',
  namespaces: 'WATCH_NAMESPACES',
  selector: 'RESOURCE_SELECTOR',
  workers: 'WORKERS',
  resync: 'RESYNC_PERIOD',
  driftCheck: 'DRIFT_CHECK_PERIOD',
  healthPort: 'HEALTH_PORT',
  healthHost: 'HEALTH_HOST',
  healthProbeBindAddress: 'HEALTH_PROBE_BIND_ADDRESS',
  metricsBindAddress: 'METRICS_BIND_ADDRESS',
  leaderElect: 'LEADER_ELECT',
  leaseNamespace: 'POD_NAMESPACE',
  leaseName: 'LEASE_NAME',
  identity: 'POD_NAME',
  kubeconfig: 'KUBECONFIG',
  logLevel: 'LOG_LEVEL',
};
