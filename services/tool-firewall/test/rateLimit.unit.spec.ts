import { describe, expect, it } from 'vitest';
import { OTHER_TOOLS, RateLimiter } from '../src/index.js';

// The limiter's keying over the shared token buckets (their rules: contracts/test/tokenBucket.unit.spec.ts),
// on a clock the test owns: no sleeping, no timing.

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
