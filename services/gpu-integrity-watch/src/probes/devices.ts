import {
  critical,
  info,
  judgement,
  skipped,
  warning,
  type Finding,
  type ProbeJudgement,
} from './types.js';

// device_allowlist (reference §4.2): the GPU device nodes under /dev and /dev/dri.

/** Name prefixes of GPU device nodes (the reference's list; `dri` itself is a directory). */
export const DEVICE_PREFIXES = ['card', 'render', 'nvidia'] as const;

export interface DeviceExpectation {
  /** `gpu_watch.device_allowlist` from policy: nodes that may exist (null: not set). */
  allowlist: readonly string[] | null;
  /** The nodes the last baseline ceremony found (null: no ceremony yet). */
  baseline: readonly string[] | null;
}

/**
 * A node is allowed when policy's allowlist or the baseline lists it; neither set ⇒ any node
 * passes. An unexpected node ⇒ fail 1.0 (one critical finding each; it dominates). A baseline
 * node that is gone ⇒ drift, missing / baseline size (policy's allowlist names what may exist,
 * not what must). No node and none expected ⇒ skip.
 */
export function judgeDevices(nodes: readonly string[], expect: DeviceExpectation): ProbeJudgement {
  const present = [...new Set(nodes)].sort();
  const baseline = expect.baseline ?? [];
  if (present.length === 0 && baseline.length === 0)
    return skipped('device_allowlist', 'no GPU device nodes');
  const findings: Finding[] = [
    info(`device nodes detected: ${present.length}`, present.join(', ')),
  ];
  if (expect.allowlist === null && expect.baseline === null) {
    findings.push(info('no allowlist in policy and no baseline: any node passes'));
    return judgement('device_allowlist', 'pass', 0, findings);
  }
  const allowed = new Set([...(expect.allowlist ?? []), ...baseline]);
  const unexpected = present.filter((n) => !allowed.has(n));
  const missing = [...new Set(baseline)].filter((n) => !present.includes(n)).sort();
  for (const n of unexpected) findings.push(critical('unexpected device node', n));
  for (const n of missing) findings.push(warning('expected device node missing', n));
  if (unexpected.length > 0) return judgement('device_allowlist', 'fail', 1, findings);
  if (missing.length > 0)
    return judgement(
      'device_allowlist',
      'drift',
      missing.length / new Set(baseline).size,
      findings,
    );
  return judgement('device_allowlist', 'pass', 0, findings);
}
