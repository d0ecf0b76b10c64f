/** How long our own last write overrides the informer's copy; watch events normally arrive within milliseconds. */
const DEFAULT_TTL_MS = 10_000;

/**
 * The last version of each object this process wrote, kept until the informer delivers that same version, so a
 * reconcile right after a write acts on the write rather than on the version before it. Watch events arrive in
 * order, so once the informer holds our version it is current again. Two races are covered: the watch event can
 * arrive before the write's own response (then nothing is kept), and a re-list can skip our version (then the copy
 * expires after a while rather than shadowing newer versions for ever).
 */
export class OwnWrites<T> {
  private readonly entries = new Map<string, { value: T; resourceVersion: string | undefined; at: number }>();

  constructor(
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  remember(key: string, value: T, resourceVersion: string | undefined, cachedResourceVersion: string | undefined): void {
    if (cachedResourceVersion !== undefined && cachedResourceVersion === resourceVersion) this.entries.delete(key);
    else this.entries.set(key, { value, resourceVersion, at: this.now() });
  }

  /** The informer delivered `resourceVersion` of the object. */
  observed(key: string, resourceVersion: string | undefined): void {
    if (this.entries.get(key)?.resourceVersion === resourceVersion) this.entries.delete(key);
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry?.value;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
