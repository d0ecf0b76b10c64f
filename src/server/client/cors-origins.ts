import type { StoredClient } from './store.js';

/** Told about every change the client service makes, once it is stored. */
export interface ClientChanges {
  saved(client: StoredClient): void;
  deleted(id: string): void;
}

/**
 * The origins some client lists in allowed_cors_origins, in memory: CORS asks on every browser request, and a query
 * each time would cost more than the request. This replica's own changes apply at once; other replicas' (and rows
 * changed behind the API's back) with the next reload, every `reloadMs`.
 */
export class ClientCorsOrigins implements ClientChanges {
  private readonly byClient = new Map<string, readonly string[]>();
  private origins = new Set<string>();
  /** While a reload reads the table: the changes made meanwhile, which its snapshot may not include. */
  private changedDuringReload: Map<string, readonly string[]> | undefined;
  private reloading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly load: () => Promise<{ id: string; origins: string[] }[]>,
    private readonly reloadMs: number,
    private readonly onReloadError: (error: unknown) => void,
  ) {}

  has(origin: string): boolean {
    return this.origins.has(origin);
  }

  saved(client: StoredClient): void {
    this.set(client.id, client.allowed_cors_origins);
  }

  deleted(id: string): void {
    this.set(id, []);
  }

  /** Replaces what is known with the table's contents; one reload at a time. */
  reload(): Promise<void> {
    this.reloading ??= this.readTable().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  /** Reloads now, then every `reloadMs` until stop(). */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload().catch(this.onReloadError), this.reloadMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async readTable(): Promise<void> {
    this.changedDuringReload = new Map();
    try {
      const rows = await this.load();
      const changed = this.changedDuringReload;
      this.byClient.clear();
      for (const { id, origins } of rows) if (origins.length) this.byClient.set(id, origins);
      for (const [id, origins] of changed) this.remember(id, origins);
      this.rebuild();
    } finally {
      this.changedDuringReload = undefined;
    }
  }

  private set(id: string, origins: readonly string[]): void {
    this.changedDuringReload?.set(id, origins);
    // Most clients list no origin and never did: nothing to rebuild for them.
    if (!origins.length && !this.byClient.has(id)) return;
    this.remember(id, origins);
    this.rebuild();
  }

  private remember(id: string, origins: readonly string[]): void {
    if (origins.length) this.byClient.set(id, origins);
    else this.byClient.delete(id);
  }

  private rebuild(): void {
    this.origins = new Set([...this.byClient.values()].flat());
  }
}
