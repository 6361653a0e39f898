// When a session ends (pure: the caller passes the time). A session dies after `idleSeconds`
// without a state change (passive reads do not keep it alive, so a dashboard left open still
// times out) and after `absoluteSeconds` whatever happens.

export interface SessionLimits {
  idleSeconds: number;
  absoluteSeconds: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  idleSeconds: 30 * 60,
  absoluteSeconds: 12 * 60 * 60,
});

export interface SessionTimes {
  createdAtMs: number;
  lastActiveAtMs: number;
}

export type SessionState = 'live' | 'idle_expired' | 'absolute_expired';

export function sessionState(s: SessionTimes, nowMs: number, limits: SessionLimits): SessionState {
  if (nowMs - s.createdAtMs >= limits.absoluteSeconds * 1000) return 'absolute_expired';
  if (nowMs - s.lastActiveAtMs >= limits.idleSeconds * 1000) return 'idle_expired';
  return 'live';
}

/** What `GET /api/auth/status` says of a live session, in whole seconds. */
export function sessionInfo(s: SessionTimes, nowMs: number, limits: SessionLimits) {
  return {
    idleSeconds: Math.max(0, Math.floor((nowMs - s.lastActiveAtMs) / 1000)),
    ageSeconds: Math.max(0, Math.floor((nowMs - s.createdAtMs) / 1000)),
    idleTimeout: limits.idleSeconds,
    absoluteTimeout: limits.absoluteSeconds,
  };
}

/** Whether a request refreshes the idle timer: only state changes do (GET, HEAD, OPTIONS never). */
export function refreshesSession(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}
