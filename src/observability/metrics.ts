import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance, so several servers in one test process never share counters. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly tokensIssued = new Counter({
    name: 'gatehouse_tokens_issued_total',
    help: 'Access tokens issued, by grant type',
    labelNames: ['grant_type'] as const,
    registers: [this.registry],
  });
  readonly secretHashes = new Counter({
    name: 'gatehouse_client_secret_hashes_total',
    help: 'Client-secret hash computations, by scheme (scrypt, hmac-sha256) and purpose (verify: a stored hash; dummy: for an unknown client or a secret that cannot match, so the answer takes as long)',
    labelNames: ['scheme', 'purpose'] as const,
    registers: [this.registry],
  });
  readonly janitorDeleted = new Counter({
    name: 'gatehouse_janitor_deleted_total',
    help: 'Expired rows deleted by the janitor inside the server, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly clientAuthThrottled = new Counter({
    name: 'gatehouse_client_auth_throttled_total',
    help: 'Client authentications refused with 429 before any hash, by what was limited (client id, source address)',
    labelNames: ['by'] as const,
    registers: [this.registry],
  });
  /** Read at scrape time from whatever holds the refusals (set by the server once it has one). */
  heldRefusals: () => number = () => 0;
  readonly clientAuthRefusalsHeld: Gauge = new Gauge({
    name: 'gatehouse_client_auth_refusals_held',
    help: 'Answers of throttled client authentications being held before they are sent (AUTH_FAILURE_DELAY)',
    registers: [this.registry],
    collect: (): void => this.clientAuthRefusalsHeld.set(this.heldRefusals()),
  });
  readonly clientAuthentications = new Counter({
    name: 'gatehouse_client_authentications_total',
    help: 'Successful client authentications with a secret, by which one: current, or previous (a rotated secret in its grace period)',
    labelNames: ['secret'] as const,
    registers: [this.registry],
  });
  readonly clientAuthFailures = new Counter({
    name: 'gatehouse_client_auth_failures_total',
    help: 'Failed client authentications, by reason (missing, invalid)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly checkpointFailures = new Counter({
    name: 'gatehouse_sqlite_checkpoint_failures_total',
    help: 'Times the background SQLite checkpoints started failing (each spell of failures counts once)',
    registers: [this.registry],
  });

  readonly idleCollections = new Counter({
    name: 'gatehouse_idle_gc_total',
    help: 'Memory-reducing garbage collections run because the server fell idle after a busy spell (IDLE_GC_AFTER)',
    registers: [this.registry],
  });
  readonly idleCollectionFreed = new Counter({
    name: 'gatehouse_idle_gc_freed_bytes_total',
    help: 'V8 heap given back by those collections',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
