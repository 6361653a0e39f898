import { describe, expect, it } from 'vitest';
import { TokenBuckets, fullBucket, refillBucket, takeToken } from '../src/index.js';

// The token bucket on a clock the test owns: no sleeping, no timing.

const LIMITS = { perMinute: 120, burst: 20 }; // the shipped policy: 2 tokens a second

describe('a token bucket', () => {
  it('given a full bucket, when the burst is spent, then the next call is refused with when to retry', () => {
    let bucket = fullBucket(LIMITS, 0);
    for (let i = 0; i < 20; i++) {
      const t = takeToken(bucket, LIMITS, 0);
      expect(t.ok, `call ${i + 1}`).toBe(true);
      bucket = t.bucket;
    }
    const refused = takeToken(bucket, LIMITS, 0);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.retryAfterMs).toBe(500);
  });

  it('given an empty bucket, when time passes, then it refills at rpm/60 a second, never above the burst', () => {
    const empty = { tokens: 0, at: 0 };
    expect(refillBucket(empty, LIMITS, 250).tokens).toBeCloseTo(0.5);
    expect(takeToken(empty, LIMITS, 499).ok).toBe(false);
    expect(takeToken(empty, LIMITS, 500).ok).toBe(true);
    expect(refillBucket(empty, LIMITS, 3_600_000).tokens).toBe(20);
  });

  it('given a clock that goes back, then the bucket does not go back in time', () => {
    const b = { tokens: 1, at: 10_000 };
    expect(refillBucket(b, LIMITS, 5_000)).toEqual({ tokens: 1, at: 10_000 });
  });
});

describe('keyed token buckets', () => {
  const limit = { perMinute: 60, burst: 3 };

  it('given a full bucket, then a burst passes and the next call waits about a second', () => {
    const b = new TokenBuckets();
    expect([0, 1, 2].map(() => b.take('k', limit, 0))).toEqual([0, 0, 0]);
    expect(b.take('k', limit, 0)).toBe(1000);
    expect(b.take('k', limit, 1000)).toBe(0);
  });

  it('given two keys, then they do not share tokens', () => {
    const b = new TokenBuckets();
    for (let i = 0; i < 3; i++) b.take('a', limit, 0);
    expect(b.take('a', limit, 0)).toBeGreaterThan(0);
    expect(b.take('b', limit, 0)).toBe(0);
  });

  it('given changed limits, then the bucket is resized but never refilled by the change', () => {
    const b = new TokenBuckets();
    for (let i = 0; i < 3; i++) b.take('k', limit, 0);
    expect(b.take('k', { perMinute: 60, burst: 10 }, 0)).toBeGreaterThan(0);
    const small = new TokenBuckets();
    small.take('k', { perMinute: 60, burst: 10 }, 0); // 9 left
    const down = { perMinute: 60, burst: 2 };
    expect([0, 1, 2].map(() => small.take('k', down, 0))).toEqual([0, 0, 1000]);
  });

  it('given many keys, then refilled buckets are forgotten and the map stays bounded', () => {
    const b = new TokenBuckets(100);
    for (let i = 0; i < 1000; i++) b.take(`k${i}`, { perMinute: 60_000, burst: 1 }, i);
    // Each bucket refills in 1 ms: all but the freshest are forgotten as the map grows.
    expect(b.size).toBeLessThanOrEqual(101);
  });
});
