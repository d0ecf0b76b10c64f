import { atTurnEnd } from './turn-end.js';

/**
 * Writes requested within one turn of the event loop go to the database as one multi-row statement, so under load
 * each statement carries many rows instead of one. A caller's promise settles when its row is committed (not yet
 * synced: see makeDurable). When a batch fails, each of its rows is retried in a statement of its own, so each caller
 * sees only its own row's error.
 */
export class BatchWriter<T> {
  private pending: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly writeAll: (items: T[]) => Promise<void>,
    private readonly maxBatch = 256,
  ) {}

  write(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        atTurnEnd('flush', () => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.pending.length) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        await this.writeAll(batch.map((entry) => entry.item));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        // One row the database refuses must not fail the strangers grouped with it: each is written on its own (all at
        // once, so that on SQLite they share one commit again).
        else await Promise.all(batch.map((entry) => this.writeAll([entry.item]).then(entry.resolve, entry.reject)));
      }
    }
  }
}
