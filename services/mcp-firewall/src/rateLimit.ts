// Token buckets (issue 13 §3: per session and per server; reference §4.3: 120 a minute, burst
// 20). Pure: the clock comes in as an argument, so the rule is tested without waiting.

export interface BucketLimit {
  requests_per_minute: number;
  burst_size: number;
}

/** The default for a session, and for a server whose policy names no `rate_limit`. */
export const DEFAULT_LIMIT: BucketLimit = { requests_per_minute: 120, burst_size: 20 };

interface Bucket {
  tokens: number;
  at: number;
  limit: BucketLimit;
}

/** Keyed token buckets; a bucket starts full and refills continuously. */
export class Buckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(private readonly maxKeys = 100_000) {}

  /**
   * Takes one token from `key`'s bucket at time `now` (ms). Returns 0 when it was taken, else the
   * milliseconds until one is available (nothing is taken then).
   */
  take(key: string, limit: BucketLimit, now: number): number {
    let b = this.#buckets.get(key);
    if (
      b === undefined ||
      b.limit.burst_size !== limit.burst_size ||
      b.limit.requests_per_minute !== limit.requests_per_minute
    ) {
      // A changed policy starts the bucket anew at the new size (never above the old level).
      const tokens = b === undefined ? limit.burst_size : Math.min(b.tokens, limit.burst_size);
      b = { tokens, at: now, limit };
      if (this.#buckets.size >= this.maxKeys) this.#evictFull(now);
      this.#buckets.set(key, b);
    }
    const perMs = limit.requests_per_minute / 60_000;
    b.tokens = Math.min(limit.burst_size, b.tokens + Math.max(0, now - b.at) * perMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / perMs);
  }

  /** Forgets buckets that would be full by now (they behave exactly like new ones). */
  #evictFull(now: number): void {
    for (const [key, b] of this.#buckets) {
      const perMs = b.limit.requests_per_minute / 60_000;
      if (b.tokens + (now - b.at) * perMs >= b.limit.burst_size) this.#buckets.delete(key);
    }
  }
}
