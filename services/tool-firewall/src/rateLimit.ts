import { TokenBuckets, type TokenBucketLimits } from '@secai/contracts';

// The tool firewall's rate limit (the reference's §4.3, per caller and per tool instead of one
// bucket for the whole process), on the shared token buckets of @secai/contracts.

export type RateLimits = TokenBucketLimits;

/** The name unknown tools share a bucket under, so made-up names cannot create buckets. */
export const OTHER_TOOLS = '*';

/**
 * The limiter the firewall holds: one bucket per caller per tool, so one caller's flood never
 * slows another caller, and a burst of one tool does not spend another tool's budget. New limits
 * (a reloaded policy) start every bucket afresh. The buckets are bounded (see `TokenBuckets`).
 */
export class RateLimiter {
  #limits: RateLimits | null = null;
  #buckets: TokenBuckets;

  constructor(private readonly maxBuckets = 10_000) {
    this.#buckets = new TokenBuckets(maxBuckets);
  }

  /** Applies the policy's limits; a change resets every bucket (as the reference did). */
  setLimits(limits: RateLimits): void {
    if (this.#limits?.perMinute === limits.perMinute && this.#limits.burst === limits.burst) return;
    this.#limits = { ...limits };
    this.#buckets = new TokenBuckets(this.maxBuckets);
  }

  get limits(): RateLimits | null {
    return this.#limits;
  }

  /**
   * One call of `tool` by `caller` at `now`: allowed (a token taken) or refused with the wait.
   * Without limits set, nothing is allowed (the caller has no policy to run under).
   */
  take(
    caller: string,
    tool: string,
    now: number,
  ): { ok: true } | { ok: false; retryAfterMs: number } {
    if (!this.#limits) return { ok: false, retryAfterMs: 1000 };
    const retryAfterMs = this.#buckets.take(`${caller}\u0000${tool}`, this.#limits, now);
    return retryAfterMs === 0 ? { ok: true } : { ok: false, retryAfterMs };
  }

  /** How many buckets are held (bounded by `maxBuckets` plus the ones still refilling). */
  get size(): number {
    return this.#buckets.size;
  }
}
