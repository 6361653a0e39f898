// Token buckets (reference §4.3), the one implementation both firewalls use. Pure: the time is
// an argument, so the rules are tested on a clock of the test's own. A bucket starts full
// (`burst` tokens), refills continuously at `perMinute / 60` tokens a second up to `burst`, and
// each call costs one.

export interface TokenBucketLimits {
  perMinute: number;
  burst: number;
}

export interface TokenBucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

export function fullBucket(limits: TokenBucketLimits, now: number): TokenBucket {
  return { tokens: limits.burst, at: now };
}

/** The bucket as it stands at `now`: refilled for the time since; a clock going back adds none. */
export function refillBucket(
  bucket: TokenBucket,
  limits: TokenBucketLimits,
  now: number,
): TokenBucket {
  const elapsed = Math.max(0, now - bucket.at);
  const tokens = Math.min(limits.burst, bucket.tokens + (elapsed * limits.perMinute) / 60_000);
  return { tokens, at: Math.max(now, bucket.at) };
}

export type TokenTake =
  { ok: true; bucket: TokenBucket } | { ok: false; bucket: TokenBucket; retryAfterMs: number };

/** Takes one token if there is one; otherwise says how long until there is (nothing taken). */
export function takeToken(bucket: TokenBucket, limits: TokenBucketLimits, now: number): TokenTake {
  const current = refillBucket(bucket, limits, now);
  if (current.tokens >= 1) return { ok: true, bucket: { ...current, tokens: current.tokens - 1 } };
  return {
    ok: false,
    bucket: current,
    retryAfterMs: Math.ceil(((1 - current.tokens) * 60_000) / limits.perMinute),
  };
}

/**
 * Keyed buckets, each under the limits of its last call. Bounded: past `maxKeys`, buckets that
 * have refilled are forgotten (they behave exactly like new ones), so the map stays small
 * whatever keys callers make up.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { bucket: TokenBucket; limits: TokenBucketLimits }>();

  constructor(private readonly maxKeys = 10_000) {}

  /**
   * One call under `key` at `now`: 0 when a token was taken, else the milliseconds until one is
   * available. Limits that changed since the key's last call start its bucket anew at the new
   * size, never above the tokens it had (a policy reload is no way to refill).
   */
  take(key: string, limits: TokenBucketLimits, now: number): number {
    const held = this.#buckets.get(key);
    let bucket: TokenBucket;
    if (held === undefined) bucket = fullBucket(limits, now);
    else if (held.limits.perMinute !== limits.perMinute || held.limits.burst !== limits.burst)
      bucket = { tokens: Math.min(held.bucket.tokens, limits.burst), at: now };
    else bucket = held.bucket;
    const result = takeToken(bucket, limits, now);
    this.#buckets.set(key, { bucket: result.bucket, limits: { ...limits } });
    if (this.#buckets.size > this.maxKeys) this.#forgetFull(now);
    return result.ok ? 0 : result.retryAfterMs;
  }

  /** How many buckets are held (bounded by `maxKeys` plus the ones still refilling). */
  get size(): number {
    return this.#buckets.size;
  }

  #forgetFull(now: number): void {
    for (const [key, { bucket, limits }] of this.#buckets)
      if (refillBucket(bucket, limits, now).tokens >= limits.burst) this.#buckets.delete(key);
  }
}
