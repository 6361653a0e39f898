// Token buckets (the reference's §4.3, per caller and per tool instead of one for the whole
// process). Pure: the time is an argument, so the rules are tested with a clock of the test's
// own. A bucket starts full (`burst` tokens), refills continuously at `perMinute / 60` tokens a
// second up to `burst`, and each call costs one.

export interface RateLimits {
  perMinute: number;
  burst: number;
}

export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/** The bucket as it stands at `now`: refilled for the time since it was last touched. */
export function refill(bucket: Bucket, limits: RateLimits, now: number): Bucket {
  const elapsed = Math.max(0, now - bucket.at);
  const tokens = Math.min(limits.burst, bucket.tokens + (elapsed * limits.perMinute) / 60_000);
  return { tokens, at: Math.max(now, bucket.at) };
}

export type Take =
  { ok: true; bucket: Bucket } | { ok: false; bucket: Bucket; retryAfterMs: number };

/** Takes one token if there is one; otherwise says how long until there is. */
export function take(bucket: Bucket, limits: RateLimits, now: number): Take {
  const current = refill(bucket, limits, now);
  if (current.tokens >= 1) return { ok: true, bucket: { ...current, tokens: current.tokens - 1 } };
  const missing = 1 - current.tokens;
  return {
    ok: false,
    bucket: current,
    retryAfterMs: Math.ceil((missing * 60_000) / limits.perMinute),
  };
}

export function fullBucket(limits: RateLimits, now: number): Bucket {
  return { tokens: limits.burst, at: now };
}

/** The name unknown tools share a bucket under, so made-up names cannot create buckets. */
export const OTHER_TOOLS = '*';

/**
 * The limiter the firewall holds: one bucket per caller per tool, so one caller's flood never
 * slows another caller, and a burst of one tool does not spend another tool's budget. New limits
 * (a reloaded policy) start every bucket afresh. Buckets that have refilled are forgotten once
 * there are more than `maxBuckets`, so the map stays bounded whatever callers send.
 */
export class RateLimiter {
  #limits: RateLimits | null = null;
  #buckets = new Map<string, Bucket>();

  constructor(private readonly maxBuckets = 10_000) {}

  /** Applies the policy's limits; a change resets every bucket (as the reference did). */
  setLimits(limits: RateLimits): void {
    if (this.#limits?.perMinute === limits.perMinute && this.#limits.burst === limits.burst) return;
    this.#limits = { ...limits };
    this.#buckets.clear();
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
    const limits = this.#limits;
    if (!limits) return { ok: false, retryAfterMs: 1000 };
    const key = `${caller}\u0000${tool}`;
    const result = take(this.#buckets.get(key) ?? fullBucket(limits, now), limits, now);
    this.#buckets.set(key, result.bucket);
    if (this.#buckets.size > this.maxBuckets) this.#forgetFull(now);
    return result.ok ? { ok: true } : { ok: false, retryAfterMs: result.retryAfterMs };
  }

  /** How many buckets are held (bounded by `maxBuckets` plus the ones still refilling). */
  get size(): number {
    return this.#buckets.size;
  }

  #forgetFull(now: number): void {
    const limits = this.#limits!;
    for (const [key, bucket] of this.#buckets)
      if (refill(bucket, limits, now).tokens >= limits.burst) this.#buckets.delete(key);
  }
}
