import { describe, expect, it } from 'vitest';
import { OTHER_TOOLS, RateLimiter, fullBucket, refill, take } from '../src/index.js';

// The token bucket on a clock the test owns: no sleeping, no timing.

const LIMITS = { perMinute: 120, burst: 20 }; // the shipped policy: 2 tokens a second

describe('token bucket', () => {
  it('given a full bucket, allows the burst and refuses the next call, saying when to retry', () => {
    let bucket = fullBucket(LIMITS, 0);
    for (let i = 0; i < 20; i++) {
      const t = take(bucket, LIMITS, 0);
      expect(t.ok, `call ${i + 1}`).toBe(true);
      bucket = t.bucket;
    }
    const refused = take(bucket, LIMITS, 0);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.retryAfterMs).toBe(500);
  });

  it('refills continuously at rpm/60 a second, never above the burst', () => {
    const empty = { tokens: 0, at: 0 };
    expect(refill(empty, LIMITS, 250).tokens).toBeCloseTo(0.5);
    expect(take(empty, LIMITS, 499).ok).toBe(false);
    expect(take(empty, LIMITS, 500).ok).toBe(true);
    expect(refill(empty, LIMITS, 3_600_000).tokens).toBe(20);
  });

  it('does not go back in time when the clock does', () => {
    const b = { tokens: 1, at: 10_000 };
    expect(refill(b, LIMITS, 5_000)).toEqual({ tokens: 1, at: 10_000 });
  });
});

describe('RateLimiter', () => {
  it('refuses everything until the policy gave it limits', () => {
    expect(new RateLimiter().take('service:agent', 'filesystem.read', 0).ok).toBe(false);
  });

  it('keeps one bucket per caller per tool: one caller’s flood does not touch another', () => {
    const limiter = new RateLimiter();
    limiter.setLimits({ perMinute: 1, burst: 3 });
    for (let i = 0; i < 3; i++) expect(limiter.take('service:agent', 'fs.read', 0).ok).toBe(true);
    expect(limiter.take('service:agent', 'fs.read', 0).ok).toBe(false);
    // Another caller, and the same caller's other tool, are not affected.
    expect(limiter.take('key:laptop', 'fs.read', 0).ok).toBe(true);
    expect(limiter.take('service:agent', 'fs.list', 0).ok).toBe(true);
  });

  it('starts every bucket afresh when the policy changes the limits, not when it repeats them', () => {
    const limiter = new RateLimiter();
    limiter.setLimits({ perMinute: 1, burst: 1 });
    expect(limiter.take('a', 't', 0).ok).toBe(true);
    limiter.setLimits({ perMinute: 1, burst: 1 });
    expect(limiter.take('a', 't', 0).ok).toBe(false);
    limiter.setLimits({ perMinute: 1, burst: 2 });
    expect(limiter.take('a', 't', 0).ok).toBe(true);
  });

  it('stays bounded: refilled buckets are forgotten once there are too many', () => {
    const limiter = new RateLimiter(100);
    limiter.setLimits({ perMinute: 60_000, burst: 1 });
    for (let i = 0; i < 1000; i++) limiter.take(`key:k${i}`, OTHER_TOOLS, i);
    // Each bucket refills in 1 ms: all but the freshest are forgotten as the map grows.
    expect(limiter.size).toBeLessThanOrEqual(101);
  });
});
