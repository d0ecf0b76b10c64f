import { Counter, Gauge, type Registry } from 'prom-client';

export type RotationReason = 'scheduled' | 'requested' | 'released';

/** What the KeyPolicy controller reports; injected, so the reconciler's tests need no registry. */
export interface RotationMetrics {
  rotated(namespace: string, policy: string, reason: RotationReason): void;
  failed(namespace: string, policy: string): void;
  /** The seconds until the next rotation of each client the policy governs now; clients it no longer governs go. */
  nextRotations(namespace: string, policy: string, clients: { name: string; seconds: number }[]): void;
}

export class PrometheusRotationMetrics implements RotationMetrics {
  private readonly rotations: Counter<'namespace' | 'policy' | 'reason'>;
  private readonly failures: Counter<'namespace' | 'policy'>;
  private readonly untilNext: Gauge<'namespace' | 'policy' | 'client'>;
  private readonly reported = new Map<string, Set<string>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.rotations = new Counter({
      name: 'gatehouse_operator_secret_rotations_total',
      help: 'Client secrets replaced by KeyPolicies, by policy and reason (scheduled, requested, released)',
      labelNames: ['namespace', 'policy', 'reason'] as const,
      registers,
    });
    this.failures = new Counter({
      name: 'gatehouse_operator_secret_rotation_failures_total',
      help: 'Rotations that failed (and are retried with backoff), by policy',
      labelNames: ['namespace', 'policy'] as const,
      registers,
    });
    this.untilNext = new Gauge({
      name: 'gatehouse_operator_seconds_until_secret_rotation',
      help: 'Seconds until the next scheduled rotation of each governed client',
      labelNames: ['namespace', 'policy', 'client'] as const,
      registers,
    });
  }

  rotated(namespace: string, policy: string, reason: RotationReason): void {
    this.rotations.inc({ namespace, policy, reason });
  }

  failed(namespace: string, policy: string): void {
    this.failures.inc({ namespace, policy });
  }

  nextRotations(namespace: string, policy: string, clients: { name: string; seconds: number }[]): void {
    const key = `${namespace}/${policy}`;
    const now = new Set(clients.map((client) => client.name));
    for (const gone of this.reported.get(key) ?? []) if (!now.has(gone)) this.untilNext.remove({ namespace, policy, client: gone });
    for (const { name, seconds } of clients) this.untilNext.set({ namespace, policy, client: name }, seconds);
    this.reported.set(key, now);
  }
}
