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
import { LeaderElector } from './runtime/leader-election.js';
import { ControllerMetrics } from './runtime/metrics.js';

export interface RunningOperator {
  /** The port /healthz, /readyz and /metrics answer on. */
  healthPort: number;
  isLeader(): boolean;
  /** Graceful: finishes in-flight reconciles, releases the Lease, closes the health server. */
  stop(): Promise<void>;
  /** Resolves when the operator stopped on its own (it lost the Lease), so the process can exit non-zero. */
  lostLeadership: Promise<void>;
}

/**
 * Starts the operator: health server at once, then the controller while this replica holds the Lease (or always,
 * without leader election). A replica that loses the Lease stops its controller and reports it through
 * lostLeadership, as controller-runtime exits, so a fresh process starts from a clean cache.
 */
export async function startOperator(config: OperatorConfig, logger: Logger): Promise<RunningOperator> {
  const kube = await loadKubeClient(config.kubeconfig);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = new ControllerMetrics(registry);
  const leaderMetric = metrics.leaderElection(config.leaseName);
  const rotationMetrics = new PrometheusRotationMetrics(registry);
  const writes = new Counter({
    name: 'gatehouse_operator_writes_total',
    help: 'Writes made by the operator, by target (kubernetes, server) and verb; flat in steady state',
    labelNames: ['target', 'verb'] as const,
    registers: [registry],
  });

  let manager: Manager | undefined;
  let standby = config.leaderElect;
  const startController = async () => {
    manager = new Manager({ kube, namespaces: config.namespaces, logger, metrics });
    const shared = {
      kube,
      server: { url: config.serverUrl, clientId: config.clientId, clientSecret: config.clientSecret },
      ...(config.selector ? { selector: config.selector } : {}),
      workers: config.workers,
      logger,
      writes,
    };
    manager.add(oauth2ClientController(manager, { ...shared, resyncMs: config.resync, driftCheckMs: config.driftCheck }));
    manager.add(keyPolicyController(manager, { ...shared, metrics: rotationMetrics }));
    await manager.start();
    logger.info({ namespaces: config.namespaces.length ? config.namespaces : 'all', selector: config.selector }, 'controller started');
  };

  const health: Server = await startHealthServer({
    port: config.healthPort,
    host: config.healthHost,
    registry,
    // A standby replica is ready: it is healthy and waiting for the Lease.
    ready: () => standby || Boolean(manager?.hasSynced()),
  });
  const healthPort = (health.address() as { port: number }).port;

  let signalLost: () => void = () => {};
  const lostLeadership = new Promise<void>((resolve) => (signalLost = resolve));
  let elector: LeaderElector | undefined;
  if (config.leaderElect) {
    elector = new LeaderElector({
      kube,
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      logger,
      onStartedLeading: () => {
        standby = false;
        leaderMetric.leading(true);
        logger.info({ identity: config.identity }, 'became leader');
        startController().catch((error: unknown) => {
          logger.error({ err: error }, 'controller failed to start');
          signalLost();
        });
      },
      onStoppedLeading: () => {
        leaderMetric.leading(false);
        logger.warn({ identity: config.identity }, 'lost leadership; stopping');
        void manager?.stop().finally(signalLost);
      },
    });
    void elector.run();
  } else {
    await startController();
  }

  return {
    healthPort,
    isLeader: () => !config.leaderElect || Boolean(elector?.isLeader()),
    lostLeadership,
    async stop() {
      await manager?.stop();
      await elector?.stop();
      await new Promise<void>((resolve) => health.close(() => resolve()));
    },
  };
}
