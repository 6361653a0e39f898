import { describe, expect, it } from 'vitest';
import {
  MAX_SESSIONS,
  SessionTable,
  refreshesSession,
  secretsEqual,
  sessionInfo,
  sessionState,
  tokenId,
} from '../src/index.js';

// Session expiry and the session table, on a clock the test owns.

const S = 1000;
const limits = { idleSeconds: 1800, absoluteSeconds: 12 * 3600 };

describe('sessionState', () => {
  it('given activity within 30 min and under 12 h, then the session is live', () => {
    expect(sessionState({ createdAtMs: 0, lastActiveAtMs: 0 }, 1799 * S, limits)).toBe('live');
  });
  it('given 30 min without a state change, then it expired idle', () => {
    expect(sessionState({ createdAtMs: 0, lastActiveAtMs: 0 }, 1800 * S, limits)).toBe(
      'idle_expired',
    );
  });
  it('given 12 h since login, then it expired whatever the activity', () => {
    const t = 12 * 3600 * S;
    expect(sessionState({ createdAtMs: 0, lastActiveAtMs: t - S }, t, limits)).toBe(
      'absolute_expired',
    );
  });
  it('only state changes refresh the idle timer', () => {
    expect(['GET', 'HEAD', 'OPTIONS'].map(refreshesSession)).toEqual([false, false, false]);
    expect(['POST', 'PUT', 'PATCH', 'DELETE'].map(refreshesSession)).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });
  it('reports whole seconds and the limits', () => {
    expect(sessionInfo({ createdAtMs: 0, lastActiveAtMs: 10 * S }, 70_500, limits)).toEqual({
      idleSeconds: 60,
      ageSeconds: 70,
      idleTimeout: 1800,
      absoluteTimeout: 43200,
    });
  });
});

describe('SessionTable', () => {
  it('given a new session, then it keeps only the token hash and finds it by the token', () => {
    const table = new SessionTable(limits);
    const { token, session } = table.create('alice', 0);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.csrfToken).not.toBe(token);
    const found = table.lookup(token, S, false);
    expect(found).toMatchObject({ status: 'live', id: tokenId(token) });
    expect(found.status === 'live' && found.id).not.toContain(token);
  });

  it('given a passive lookup, then the idle timer does not move; given a refreshing one, then it does', () => {
    const table = new SessionTable(limits);
    const { token } = table.create('alice', 0);
    table.lookup(token, 1000 * S, false);
    expect(table.lookup(token, 1800 * S, false).status).toBe('expired');
    const second = table.create('alice', 0).token;
    table.lookup(second, 1000 * S, true);
    expect(table.lookup(second, 1800 * S, false).status).toBe('live');
  });

  it('given an expired session, when looked up, then it is expired once and unknown after', () => {
    const table = new SessionTable(limits);
    const { token } = table.create('alice', 0);
    expect(table.lookup(token, 1800 * S, false).status).toBe('expired');
    expect(table.lookup(token, 1800 * S, false).status).toBe('unknown');
  });

  it('given a forged or malformed token, then it is unknown', () => {
    const table = new SessionTable(limits);
    table.create('alice', 0);
    expect(table.lookup('A'.repeat(43), 0, false).status).toBe('unknown');
    expect(table.lookup('x', 0, false).status).toBe('unknown');
    expect(table.lookup(undefined, 0, false).status).toBe('unknown');
  });

  it('given revokeAll (a passphrase change), then no session is left', () => {
    const table = new SessionTable(limits);
    const a = table.create('alice', 0).token;
    const b = table.create('alice', 0).token;
    table.revokeAll();
    expect(table.lookup(a, 0, false).status).toBe('unknown');
    expect(table.lookup(b, 0, false).status).toBe('unknown');
  });

  it('given more logins than the cap, then the oldest session is evicted', () => {
    const table = new SessionTable(limits);
    const first = table.create('alice', 0).token;
    for (let i = 0; i < MAX_SESSIONS; i++) table.create('alice', i);
    expect(table.size).toBe(MAX_SESSIONS);
    expect(table.lookup(first, MAX_SESSIONS, false).status).toBe('unknown');
  });
});

describe('secretsEqual', () => {
  it('compares secrets of any length', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abcd')).toBe(false);
    expect(secretsEqual('', 'a')).toBe(false);
  });
});
