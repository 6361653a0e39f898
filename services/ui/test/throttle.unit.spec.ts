import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THROTTLE_RULES,
  LoginThrottle,
  clientKey,
  type ThrottleRules,
} from '../src/index.js';

// The login throttle's rules on a clock the test owns (milliseconds passed in): no sleeping.

const S = 1000;

function failTimes(t: LoginThrottle, client: string, n: number, at: number) {
  for (let i = 0; i < n; i++) t.fail(client, at);
}

describe('LoginThrottle, per client', () => {
  it('given 4 failures, when the client tries again, then it may', () => {
    const t = new LoginThrottle();
    failTimes(t, 'a', 4, 0);
    expect(t.check('a', 0)).toEqual({ allowed: true });
  });

  it('given 5 failures, when the client tries within 60 s, then it is locked out with the seconds left', () => {
    const t = new LoginThrottle();
    failTimes(t, 'a', 5, 0);
    expect(t.check('a', 10 * S)).toEqual({
      allowed: false,
      scope: 'client',
      retryAfterSeconds: 50,
    });
    expect(t.check('a', 60 * S)).toEqual({ allowed: true });
  });

  it('given a lock that ended, when the client fails once more, then it is locked again (the count is kept)', () => {
    const t = new LoginThrottle();
    failTimes(t, 'a', 5, 0);
    t.fail('a', 61 * S);
    expect(t.check('a', 62 * S)).toMatchObject({ allowed: false, retryAfterSeconds: 59 });
  });

  it('given 15 failures, when the client tries, then the lock is 900 s', () => {
    const t = new LoginThrottle();
    failTimes(t, 'a', 15, 0);
    expect(t.check('a', 0)).toMatchObject({ allowed: false, retryAfterSeconds: 900 });
    expect(t.check('a', 899 * S).allowed).toBe(false);
    expect(t.check('a', 900 * S).allowed).toBe(true);
  });

  it('given a locked client, when another client tries, then that one may', () => {
    const t = new LoginThrottle();
    failTimes(t, 'a', 5, 0);
    expect(t.check('b', 0)).toEqual({ allowed: true });
  });

  it('given failures then a success, when the client fails again, then it starts from one', () => {
    const t = new LoginThrottle();
    failTimes(t, 'a', 4, 0);
    t.succeed('a');
    failTimes(t, 'a', 4, S);
    expect(t.check('a', S).allowed).toBe(true);
  });

  it('given a last failure an hour ago, when the client fails again, then the old ones are forgotten', () => {
    const t = new LoginThrottle();
    failTimes(t, 'a', 4, 0);
    failTimes(t, 'a', 1, 3600 * S);
    expect(t.check('a', 3600 * S).allowed).toBe(true);
  });
});

describe('LoginThrottle, the global ceiling', () => {
  const rules: ThrottleRules = {
    ...DEFAULT_THROTTLE_RULES,
    global: { failures: 10, windowSeconds: 60, lockSeconds: 300 },
  };

  it('given failures from many addresses (each under its own limit), when they cross the ceiling, then every login waits', () => {
    const t = new LoginThrottle(rules);
    for (let i = 0; i < 10; i++) t.fail(`10.0.0.${i}`, i * S);
    expect(t.check('10.0.0.99', 10 * S)).toMatchObject({ allowed: false, scope: 'global' });
    expect(t.check('127.0.0.1', 10 * S)).toMatchObject({ allowed: false, scope: 'global' });
    expect(t.check('127.0.0.1', 309 * S).allowed).toBe(true);
  });

  it('given failures spread wider than the window, when they add up past the ceiling, then nothing locks', () => {
    const t = new LoginThrottle(rules);
    for (let i = 0; i < 20; i++) t.fail(`10.0.0.${i}`, i * 7 * S);
    expect(t.check('127.0.0.1', 140 * S).allowed).toBe(true);
  });

  it('given a flood of addresses, when the book is full, then it stays bounded', () => {
    const t = new LoginThrottle({
      ...rules,
      maxClients: 100,
      global: { ...rules.global, failures: 1e9 },
    });
    for (let i = 0; i < 1000; i++) t.fail(`a${i}`, i);
    expect(t.size).toBeLessThanOrEqual(100);
  });
});

describe('clientKey', () => {
  it('keys IPv4 as is and an IPv4-mapped address as its IPv4', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });

  it('keys IPv6 by its /64, so one host cannot rotate through its own prefix', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});
