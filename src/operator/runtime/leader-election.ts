// Leader election over a coordination.k8s.io/v1 Lease with client-go's semantics, so a Go controller's operators
// can reason about ours the same way: expiry is judged by when *this* replica last saw the record change (clock skew
// between replicas cannot shorten a lease), writes are optimistic through resourceVersion, and a leader gives up
// (renewDeadline) before any standby may consider the lease expired (leaseDuration).
import pino, { type Logger } from 'pino';
import { statusCodeOf, type KubeClient } from './kube-client.js';
import { sleepUnlessAborted } from './sleep.js';

export interface LeaderElectorOptions {
  kube: KubeClient;
  namespace: string;
  name: string;
  /** Unique per replica, e.g. the pod name plus a random suffix. */
  identity: string;
  /** How long a standby waits after the record last changed before taking over. Sent in whole seconds. */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long stops leading. */
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called when this replica becomes leader; a returned promise is not awaited. */
  onStartedLeading?: () => void | Promise<void>;
  /** Called when leadership is lost (renewal failed until renewDeadline), not on stop(): its caller knows already. */
  onStoppedLeading?: () => void;
  /** Called whenever the observed holder changes, this replica included. */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
}

/** The Lease spec the way client-go's LeaderElectionRecord sees it; times are the server's RFC 3339 strings. */
export interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string | undefined;
  renewTime: string | undefined;
  leaseTransitions: number;
}

// client-go waits retryPeriod·(1 + 1.2·rand) between acquire attempts; a smaller spread keeps replicas apart just as
// well and shortens how late a standby notices the last renewal, which bounds the failover time.
const ACQUIRE_JITTER = 0.2;

/** coordination.k8s.io/v1 Lease, the fields this elector reads and writes; times are MicroTime strings. */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

function recordOf(lease: Lease): LeaderElectionRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime,
    renewTime: spec.renewTime,
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

/** metav1.MicroTime: RFC 3339 with six fractional digits, as the API server writes it. */
function microTimeOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function microTime(value: string | undefined, fallback: string): string {
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isNaN(ms) ? fallback : microTimeOf(ms);
}

export class LeaderElector {
  private readonly log: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly stopController = new AbortController();
  private lease: Lease | undefined;
  private observed: LeaderElectionRecord | undefined;
  private observedRaw = '';
  /** Monotonic time at which the observed record last changed. */
  private observedAt = 0;
  private reportedLeader: string | undefined;
  private leading = false;
  private releaseOnStop = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs && this.retryPeriodMs > 0)) {
      throw new RangeError('need leaseDurationMs > renewDeadlineMs > retryPeriodMs > 0');
    }
    if (!options.identity) throw new RangeError('identity must not be empty');
  }

  /** Campaigns until stop() or until leadership is lost; as with client-go, a lost elector does not campaign again. */
  run(): Promise<void> {
    this.loop ??= this.campaign();
    return this.loop;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The Lease as last read or written by this replica. */
  get observedRecord(): LeaderElectionRecord | undefined {
    return this.observed && { ...this.observed };
  }

  /**
   * Stops campaigning and renewing. A held Lease is released (empty holder, 1 s duration) so a standby takes over
   * at its next attempt, unless release is false, which behaves like a crashed replica: the Lease runs out.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.releaseOnStop = options.release ?? true;
    this.stopController.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async campaign(): Promise<void> {
    this.log.info('waiting for the lease');
    while (!this.stopped && !(await this.tryAcquireOrRenew())) await sleepUnlessAborted(this.acquireDelay(), this.stopController.signal);
    if (this.stopped) return;
    this.leading = true;
    this.log.info({ leaseTransitions: this.observed?.leaseTransitions }, 'acquired the lease');
    try {
      Promise.resolve(this.options.onStartedLeading?.()).catch((error: unknown) => this.log.error({ err: error }, 'onStartedLeading failed'));
    } catch (error) {
      this.log.error({ err: error }, 'onStartedLeading failed');
    }
    const renewed = await this.renewUntilLost();
    this.leading = false;
    if (!renewed) {
      this.log.warn('could not renew the lease within renewDeadline; leadership lost');
      try {
        this.options.onStoppedLeading?.();
      } catch (error) {
        this.log.error({ err: error }, 'onStoppedLeading failed');
      }
      return;
    }
    if (this.releaseOnStop) await this.release();
  }

  /** Sleeps retryPeriod with jitter, but wakes when the lease this replica saw held would expire. */
  private acquireDelay(): number {
    const jittered = this.retryPeriodMs * (1 + ACQUIRE_JITTER * Math.random());
    if (!this.observed?.holderIdentity) return jittered;
    const untilExpiry = this.observedAt + this.observed.leaseDurationSeconds * 1000 - performance.now();
    return Math.max(1, Math.min(jittered, untilExpiry + 1));
  }

  /** client-go's renew loop: attempts every retryPeriod; true once stopped, false when renewDeadline passed. */
  private async renewUntilLost(): Promise<boolean> {
    while (!this.stopped) {
      const deadline = performance.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!this.stopped && !renewed && performance.now() < deadline) {
        renewed = await this.tryAcquireOrRenew(deadline);
        if (!renewed) await sleepUnlessAborted(Math.min(this.retryPeriodMs, deadline - performance.now()), this.stopController.signal);
      }
      if (this.stopped) return true;
      if (!renewed) return false;
      await sleepUnlessAborted(this.retryPeriodMs, this.stopController.signal);
    }
    return true;
  }

  private async tryAcquireOrRenew(deadline = performance.now() + this.renewDeadlineMs): Promise<boolean> {
    const now = microTimeOf(Date.now());
    const desired: Lease['spec'] = {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    // Fast path: a leader whose lease is still valid writes over the version it knows, saving a GET per renewal.
    if (this.lease && this.observed && this.holdsObserved() && this.observedValid()) {
      desired.acquireTime = microTime(this.observed.acquireTime, now);
      desired.leaseTransitions = this.observed.leaseTransitions;
      if (await this.write(this.lease, desired, deadline)) return true;
    }

    let current: Lease;
    try {
      current = await this.kube.request<Lease>('GET', this.leasePath(), { signal: this.signalFor(deadline) });
    } catch (error) {
      if (statusCodeOf(error) !== 404) {
        this.logFailure(error, 'could not read the lease');
        return false;
      }
      return this.write(undefined, { ...desired, leaseTransitions: 0 }, deadline);
    }
    this.lease = current;
    this.observe(current);
    const old = recordOf(current);
    if (old.holderIdentity && old.holderIdentity !== this.options.identity && this.observedValid()) return false;
    if (old.holderIdentity === this.options.identity) {
      desired.acquireTime = microTime(old.acquireTime, now);
      desired.leaseTransitions = old.leaseTransitions;
    } else {
      desired.leaseTransitions = old.leaseTransitions + 1;
    }
    return this.write(current, desired, deadline);
  }

  /** Creates (no base) or replaces the Lease; a 409 means another replica wrote first, and this attempt lost. */
  private async write(base: Lease | undefined, spec: Lease['spec'], deadline: number): Promise<boolean> {
    try {
      const signal = this.signalFor(deadline);
      const written = base
        ? await this.kube.request<Lease>('PUT', this.leasePath(), { body: { ...base, spec }, signal })
        : await this.kube.request<Lease>('POST', this.leasePath(false), {
            body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.options.name, namespace: this.options.namespace }, spec },
            signal,
          });
      this.lease = written;
      this.observe(written);
      return true;
    } catch (error) {
      // Losing a race is routine for a standby; anything else (RBAC, a missing namespace, the network) is not.
      if (statusCodeOf(error) === 409) this.lease = undefined;
      else this.logFailure(error, 'could not write the lease');
      return false;
    }
  }

  private async release(): Promise<void> {
    const deadline = performance.now() + this.renewDeadlineMs;
    // A renewal aborted by stop() may still have landed, so a conflict is answered by reading and trying once more.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const lease = this.lease ?? (await this.kube.request<Lease>('GET', this.leasePath(), { signal: this.signalFor(deadline, false) }));
        const record = recordOf(lease);
        if (record.holderIdentity !== this.options.identity) return;
        const now = microTimeOf(Date.now());
        const spec = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: record.leaseTransitions };
        this.observe(await this.kube.request<Lease>('PUT', this.leasePath(), { body: { ...lease, spec }, signal: this.signalFor(deadline, false) }));
        this.log.info('released the lease');
        return;
      } catch (error) {
        this.lease = undefined;
        if (statusCodeOf(error) !== 409) {
          this.log.warn({ err: error }, 'could not release the lease; standbys take over once it expires');
          return;
        }
      }
    }
  }

  private observe(lease: Lease): void {
    const record = recordOf(lease);
    const raw = JSON.stringify(record);
    if (raw !== this.observedRaw) {
      this.observed = record;
      this.observedRaw = raw;
      this.observedAt = performance.now();
    }
    if (record.holderIdentity && record.holderIdentity !== this.reportedLeader) {
      this.reportedLeader = record.holderIdentity;
      this.log.info({ leader: record.holderIdentity }, 'new leader observed');
      try {
        this.options.onNewLeader?.(record.holderIdentity);
      } catch (error) {
        this.log.error({ err: error }, 'onNewLeader failed');
      }
    }
  }

  private logFailure(error: unknown, message: string): void {
    // Requests cut short by stop() are expected, not news.
    if (!this.stopped) this.log.warn({ err: error }, message);
  }

  private holdsObserved(): boolean {
    return this.observed?.holderIdentity === this.options.identity;
  }

  private observedValid(): boolean {
    return this.observed !== undefined && this.observedAt + this.observed.leaseDurationSeconds * 1000 > performance.now();
  }

  private get kube(): KubeClient {
    return this.options.kube;
  }

  private leasePath(named = true): string {
    const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
    return named ? `${collection}/${encodeURIComponent(this.options.name)}` : collection;
  }

  /** Bounds a request by the deadline and, unless it is the release itself, by stop(). */
  private signalFor(deadline: number, abortOnStop = true): AbortSignal {
    const signals = [AbortSignal.timeout(Math.max(1, Math.round(deadline - performance.now())))];
    if (abortOnStop) signals.push(this.stopController.signal);
    return AbortSignal.any(signals);
  }
}
