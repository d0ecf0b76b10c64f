import { decide, type AccessRequest, type Decision } from './engine.js';
import type { Policy } from './schema.js';
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
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.reload();
    return decide([...this.configured, ...this.stored], request);
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
