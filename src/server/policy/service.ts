import { decide, type AccessRequest, type Decision } from './engine.js';
import type { Policy } from '../../config/policy.js';
import type { PolicyStore } from './store.js';

const REFRESH_MS = 5_000;

/**
 * Policies from the configuration file plus those stored in the database (the bootstrap ones). Stored policies are
 * read again every few seconds, so several replicas converge without a query on every management request.
 */
export class PolicyService {
  private stored: Policy[] = [];
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: PolicyStore,
    private readonly configured: readonly Policy[],
  ) {}

  async decide(request: AccessRequest): Promise<Decision> {
    return decide(await this.current(), request);
  }

  /** Every policy in force, for callers that must decide synchronously (inside a database transaction). */
  async current(): Promise<Policy[]> {
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.reload();
    return [...this.configured, ...this.stored];
  }

  reload(): Promise<void> {
    this.loading ??= this.store
      .list()
      .then((policies) => {
        this.stored = policies;
        this.loadedAt = Date.now();
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
