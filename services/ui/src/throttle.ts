// Login throttling (pure: the caller passes the time). Failed passphrases (and wrong setup codes)
// lock the client address out, longer as failures pile up (reference §8.2: 5 → 60 s, 15 →
// 900 s); while locked, even the right passphrase is refused. The per-address rule alone lets an
// attacker with many addresses guess on without limit, so a global ceiling on failures across all
// addresses locks every login for a while when it is crossed.

export interface LockStep {
  /** Failures (counted since the last success or forgetting) at which this step applies. */
  failures: number;
  lockSeconds: number;
}

export interface ThrottleRules {
  /** Ascending by `failures`; the highest step reached applies. */
  steps: readonly LockStep[];
  /** A client whose last failure is older than this starts again from zero. */
  forgetAfterSeconds: number;
  /** Failures from all clients within `windowSeconds` that lock every login for `lockSeconds`. */
  global: { failures: number; windowSeconds: number; lockSeconds: number };
  /** Clients remembered at most; beyond it the ones forgotten soonest are dropped first. */
  maxClients: number;
}

export const DEFAULT_THROTTLE_RULES: ThrottleRules = Object.freeze({
  steps: Object.freeze([
    { failures: 5, lockSeconds: 60 },
    { failures: 15, lockSeconds: 900 },
  ]),
  forgetAfterSeconds: 3600,
  global: Object.freeze({ failures: 50, windowSeconds: 60, lockSeconds: 300 }),
  maxClients: 4096,
});

interface ClientState {
  failures: number;
  lastFailureMs: number;
  lockedUntilMs: number;
}

export type ThrottleVerdict =
  { allowed: true } | { allowed: false; scope: 'client' | 'global'; retryAfterSeconds: number };

/**
 * The failure book of every client plus the global window. `check` before the passphrase is even
 * hashed; `fail` or `succeed` after.
 */
export class LoginThrottle {
  readonly #rules: ThrottleRules;
  readonly #clients = new Map<string, ClientState>();
  /** Times (ms) of recent failures of every client, oldest first. */
  #recent: number[] = [];
  #globalLockedUntilMs = 0;

  constructor(rules: ThrottleRules = DEFAULT_THROTTLE_RULES) {
    this.#rules = rules;
  }

  check(client: string, nowMs: number): ThrottleVerdict {
    if (nowMs < this.#globalLockedUntilMs)
      return {
        allowed: false,
        scope: 'global',
        retryAfterSeconds: secondsUntil(this.#globalLockedUntilMs, nowMs),
      };
    const state = this.#current(client, nowMs);
    if (state && nowMs < state.lockedUntilMs)
      return {
        allowed: false,
        scope: 'client',
        retryAfterSeconds: secondsUntil(state.lockedUntilMs, nowMs),
      };
    return { allowed: true };
  }

  /** Records a failure; returns the verdict a next attempt would get now. */
  fail(client: string, nowMs: number): ThrottleVerdict {
    const state = this.#current(client, nowMs) ?? {
      failures: 0,
      lastFailureMs: 0,
      lockedUntilMs: 0,
    };
    state.failures += 1;
    state.lastFailureMs = nowMs;
    // The counter is not reset when a lock ends: every further failure locks again, and the
    // longer step comes into reach.
    const step = [...this.#rules.steps].reverse().find((s) => state.failures >= s.failures);
    if (step) state.lockedUntilMs = Math.max(state.lockedUntilMs, nowMs + step.lockSeconds * 1000);
    this.#clients.delete(client);
    this.#clients.set(client, state);
    this.#prune(nowMs);

    const { global } = this.#rules;
    const windowStart = nowMs - global.windowSeconds * 1000;
    this.#recent = this.#recent.filter((t) => t > windowStart);
    this.#recent.push(nowMs);
    if (this.#recent.length >= global.failures) {
      this.#globalLockedUntilMs = nowMs + global.lockSeconds * 1000;
      this.#recent = [];
    }
    return this.check(client, nowMs);
  }

  /** A success clears that client's failures (not the global window: other clients still count). */
  succeed(client: string): void {
    this.#clients.delete(client);
  }

  /** Clients remembered now (for tests and health). */
  get size(): number {
    return this.#clients.size;
  }

  #current(client: string, nowMs: number): ClientState | undefined {
    const state = this.#clients.get(client);
    if (!state) return undefined;
    if (this.#forgotten(state, nowMs)) {
      this.#clients.delete(client);
      return undefined;
    }
    return state;
  }

  #forgotten(state: ClientState, nowMs: number): boolean {
    return (
      nowMs >= state.lockedUntilMs &&
      nowMs - state.lastFailureMs >= this.#rules.forgetAfterSeconds * 1000
    );
  }

  #prune(nowMs: number): void {
    if (this.#clients.size <= this.#rules.maxClients) return;
    for (const [client, state] of this.#clients)
      if (this.#forgotten(state, nowMs)) this.#clients.delete(client);
    // Still full: drop the least recently failed (Map order is insertion order, refreshed on
    // each failure). A locked one dropped here can guess again, which the global ceiling bounds.
    for (const client of this.#clients.keys()) {
      if (this.#clients.size <= this.#rules.maxClients) break;
      this.#clients.delete(client);
    }
  }
}

function secondsUntil(untilMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
}

/**
 * The key a client address is throttled under: IPv4 as is (an IPv4-mapped IPv6 address as its
 * IPv4), IPv6 by its /64, since one host holds a whole /64 and could rotate through it.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address.split('%')[0]!);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address.slice(0, 64);
}

function expandIpv6(address: string): string[] | null {
  const halves = address.toLowerCase().split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}
