import { TokenBuckets } from '@secai/contracts';

// Rate limits per session and per server (issue 13 §3; reference §4.3: 120 a minute, burst 20),
// on the shared token buckets of @secai/contracts. What this adds: the policy's limit shape and
// its default.

export interface BucketLimit {
  requests_per_minute: number;
  burst_size: number;
}

/** The default for a session, and for a server whose policy names no `rate_limit`. */
export const DEFAULT_LIMIT: BucketLimit = { requests_per_minute: 120, burst_size: 20 };

/** Keyed token buckets under the policy's limits; a changed limit never refills a bucket. */
export class Buckets {
  readonly #buckets: TokenBuckets;

  constructor(maxKeys = 100_000) {
    this.#buckets = new TokenBuckets(maxKeys);
  }

  /**
   * Takes one token from `key`'s bucket at time `now` (ms). Returns 0 when it was taken, else the
   * milliseconds until one is available (nothing is taken then).
   */
  take(key: string, limit: BucketLimit, now: number): number {
    return this.#buckets.take(
      key,
      { perMinute: limit.requests_per_minute, burst: limit.burst_size },
      now,
    );
  }
}
