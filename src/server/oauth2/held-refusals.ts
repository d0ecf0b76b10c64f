/**
 * Holds the 429 of a throttled client authentication before it is sent. A guesser that waits for each answer, as every
 * HTTP client on a keep-alive connection does, then makes one attempt per connection per delay instead of as many as
 * the server can refuse: measured with 16 such connections, refusing at once cost a whole core (about 6,000 refusals a
 * second at 120-160 µs each) and doubled the p99 of legitimate token requests; held, they cost almost nothing. The
 * delay never outlasts Retry-After, which an honest client waits anyway, and a credential that is let in while its id
 * is limited is never held. Each held refusal holds its connection, so the count is capped (beyond it refusals go out
 * at once) and MAX_CONNECTIONS bounds what a guesser opening more connections can hold.
 */
export class HeldRefusals {
  private readonly releases = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: { delayMs: number; maxHeld: number }) {}

  /**
   * A promise that resolves when the refusal may be sent: after the delay (at most `retryAfterSeconds`), or at once
   * on close. Undefined when it goes out now: no delay configured, the cap reached, or the server closing.
   */
  hold(retryAfterSeconds: number): Promise<void> | undefined {
    const delayMs = Math.min(this.options.delayMs, retryAfterSeconds * 1000);
    if (delayMs <= 0 || this.closed || this.releases.size >= this.options.maxHeld) return undefined;
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.releases.delete(release);
        resolve();
      };
      const timer = setTimeout(release, delayMs);
      this.releases.add(release);
    });
  }

  get held(): number {
    return this.releases.size;
  }

  /** On shutdown: everything held is answered now, and nothing more is held. */
  close(): void {
    this.closed = true;
    for (const release of [...this.releases]) release();
  }
}
