import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { Manager } from './manager/manager.js';
import { PrometheusRotationMetrics } from './keypolicy/metrics.js';
import { keyPolicyController } from './wiring/keypolicy.js';
import { oauth2ClientController } from './wiring/oauth2client.js';
import { loadKubeClient } from './runtime/kube-client.js';
import type { OperatorConfig } from './config.js';
import { startHealthServer } from './health.js';

export interface RunningOperator {
  /** The port /healthz and /readyz answer on (and /metrics, unless it has a listener of its own). */
  healthPort: number;
  /** The port of --metrics-bind-address, when metrics have a listener of their own. */
  metricsPort: number | undefined;
  isLeader(): boolean;
  /** Graceful: finishes in-flight reconciles, releases the Lease, closes the health server. */
  stop(): Promise<void>;
  /** Resolves when the operator stopped on its own (it lost the Lease), so the process can exit non-zero. */
  lostLeadership: Promise<void>;
}

/**
 * Starts the operator: the health server at once, and the manager with both controllers, which runs them while this
 * replica holds the Lease (or always, without leader election).
 */
export async function startOperator(config: OperatorConfig, logger: Logger): Promise<RunningOperator> {
  const kube = await loadKubeClient(config.kubeconfig);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const writes = new Counter({
    name: 'gatehouse_operator_writes_total',
    help: 'Writes made by the operator, by target (kubernetes, server) and verb; flat in steady state',
    labelNames: ['target', 'verb'] as const,
    registers: [registry],
  });

  const manager = new Manager({
    kube,
    namespaces: config.namespaces,
    logger,
    registry,
    ...(config.leaderElect ? { leaderElection: { namespace: config.leaseNamespace, name: config.leaseName, identity: config.identity } } : {}),
  });
  const shared = {
    kube,
    server: { url: config.serverUrl, clientId: config.clientId, clientSecret: config.clientSecret },
    ...(config.selector ? { selector: config.selector } : {}),
    workers: config.workers,
    logger,
    writes,
  };
  manager.add(oauth2ClientController(manager, { ...shared, resyncMs: config.resync, driftCheckMs: config.driftCheck }));
  manager.add(keyPolicyController(manager, { ...shared, metrics: new PrometheusRotationMetrics(registry) }));

  const probes = config.healthProbeBindAddress ?? { host: config.healthHost, port: config.healthPort };
  const separateMetrics = config.metricsBindAddress !== undefined;
  const health: Server = await startHealthServer({ ...probes, ...(separateMetrics ? {} : { registry }), ready: () => manager.ready() });
  const metrics: Server | undefined =
    config.metricsBindAddress && config.metricsBindAddress !== 'off' ? await startHealthServer({ ...config.metricsBindAddress, registry }) : undefined;
  const healthPort = (health.address() as { port: number }).port;
  await manager.start();

  return {
    healthPort,
    metricsPort: metrics ? (metrics.address() as { port: number }).port : undefined,
    isLeader: () => manager.isLeader(),
    lostLeadership: manager.lostLeadership,
    async stop() {
      await manager.stop();
      await Promise.all([health, metrics].flatMap((server) => (server ? [new Promise<void>((resolve) => server.close(() => resolve()))] : [])));
    },
  };
}
