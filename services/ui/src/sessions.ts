import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DEFAULT_SESSION_LIMITS,
  sessionState,
  type SessionLimits,
  type SessionTimes,
} from './sessionRules.js';

// The server side of sessions: the cookie carries 32 random bytes; the table holds only their
// SHA-256, so a dump of this process's memory (or a log of the map) gives no usable cookie. Each
// session has its own CSRF token. Sessions live in memory: a restart logs everybody out.

export interface Session extends SessionTimes {
  operator: string;
  csrfToken: string;
}

export type SessionLookup =
  { status: 'live'; session: Session; id: string } | { status: 'expired' } | { status: 'unknown' };

/** At most this many sessions at once; a new login evicts the oldest. */
export const MAX_SESSIONS = 64;

const TOKEN_BYTES = 32;
/** base64url of 32 bytes. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time equality of two secrets of any length (compared as digests). */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export class SessionTable {
  readonly limits: SessionLimits;
  readonly #sessions = new Map<string, Session>();

  constructor(limits: SessionLimits = DEFAULT_SESSION_LIMITS) {
    this.limits = limits;
  }

  /** A new session: the cookie token (never stored) and the session. */
  create(operator: string, nowMs: number): { token: string; session: Session } {
    this.#sweep(nowMs);
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const token = newToken();
    const session: Session = {
      operator,
      csrfToken: newToken(),
      createdAtMs: nowMs,
      lastActiveAtMs: nowMs,
    };
    this.#sessions.set(tokenId(token), session);
    return { token, session };
  }

  /**
   * The session a cookie token names. An expired one is removed and reported once as expired;
   * with `refresh`, a live one's idle timer restarts.
   */
  lookup(token: string | undefined, nowMs: number, refresh: boolean): SessionLookup {
    if (token === undefined || !TOKEN_PATTERN.test(token)) return { status: 'unknown' };
    const id = tokenId(token);
    const session = this.#sessions.get(id);
    if (!session) return { status: 'unknown' };
    if (sessionState(session, nowMs, this.limits) !== 'live') {
      this.#sessions.delete(id);
      return { status: 'expired' };
    }
    if (refresh) session.lastActiveAtMs = nowMs;
    return { status: 'live', session, id };
  }

  revoke(id: string): void {
    this.#sessions.delete(id);
  }

  /** Every session ends (a passphrase change). */
  revokeAll(): void {
    this.#sessions.clear();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Drops sessions that ended long enough ago that nobody will be told "expired" any more. */
  #sweep(nowMs: number): void {
    for (const [id, s] of this.#sessions)
      if (sessionState(s, nowMs - this.limits.idleSeconds * 1000, this.limits) !== 'live')
        this.#sessions.delete(id);
  }
}
