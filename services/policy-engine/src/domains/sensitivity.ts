import { Trace, type Verdict } from '../decision.js';
import type { MainPolicy } from '../policy/index.js';

/** `sensitivity`: the level must not exceed the ceiling, both known levels of the policy. */
export function decideSensitivity(level: string, ceiling: string, policy: MainPolicy): Verdict {
  const trace = new Trace();
  const levels = policy.sensitivity.levels;
  const l = levels.indexOf(level);
  const c = levels.indexOf(ceiling);
  if (l < 0 || c < 0)
    return trace.conclude('deny', 'sensitivity.invalid', 'unknown sensitivity level or ceiling');
  trace.miss('sensitivity.invalid', 'level and ceiling are known');
  if (l > c)
    return trace.conclude(
      'deny',
      'sensitivity.exceeded',
      `${level} exceeds the ceiling ${ceiling}`,
    );
  return trace.conclude('allow', 'sensitivity.ok', `${level} is within the ceiling ${ceiling}`);
}
