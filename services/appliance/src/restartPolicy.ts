/** Bounded restarts: at most `maxRestarts` within `windowMs`, with exponential backoff. */
export interface RestartPolicy {
  maxRestarts: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxRestarts: 5,
  windowMs: 300_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
};

export type RestartDecision =
  | { action: 'restart'; delayMs: number; restartsInWindow: number }
  | { action: 'give-up'; restartsInWindow: number };

/**
 * Decides what to do after an unexpected exit, given the times of earlier restarts. Pure: the
 * clock comes in as `now`.
 */
export function decideRestart(
  restartTimes: readonly number[],
  now: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): RestartDecision {
  const inWindow = restartTimes.filter((t) => now - t < policy.windowMs).length;
  if (inWindow >= policy.maxRestarts) return { action: 'give-up', restartsInWindow: inWindow };
  const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** inWindow);
  return { action: 'restart', delayMs, restartsInWindow: inWindow + 1 };
}
