import { critical, info, judgement, skipped, type Finding, type ProbeJudgement } from './types.js';

// driver_fingerprint (reference §4.2): which GPU kernel driver is loaded, against the baseline.

/** Kernel modules looked for, in this order (the reference's list). */
export const GPU_MODULES = ['nvidia', 'amdgpu', 'i915', 'xe'] as const;

export interface DriverFingerprint {
  version: string;
  module: string;
  /**
   * `sha256:` over the module's `srcversion` and `initstate` as sysfs shows them (null when it
   * shows neither): `srcversion` changes when the module binary does, even under the same
   * version string. The reference hashed `initstate` alone, which reads `live` for every module.
   */
  moduleDigest: string | null;
}

/** The driver baseline: none captured yet (null), or what the last ceremony found. */
export type DriverBaseline = { driver: DriverFingerprint | null } | null;

/**
 * No baseline ⇒ pass (with the advice to capture one); the baseline's driver gone ⇒ fail; a
 * driver where the baseline had none ⇒ fail; version, module or module digest (when the baseline
 * has one) different ⇒ fail 1.0, one critical finding each. Nothing loaded and nothing expected ⇒
 * skip. The reference skipped when the driver disappeared after the baseline.
 */
export function judgeDriver(
  found: DriverFingerprint | null,
  baseline: DriverBaseline,
): ProbeJudgement {
  const expected = baseline?.driver ?? null;
  if (found === null) {
    if (expected === null) return skipped('driver_fingerprint', 'no GPU driver loaded');
    return judgement('driver_fingerprint', 'fail', 1, [
      critical(
        "the baseline's GPU driver is no longer loaded",
        `${expected.module} ${expected.version}`,
      ),
    ]);
  }
  const findings: Finding[] = [
    info('driver version detected', found.version),
    info(`kernel module: ${found.module}`, found.moduleDigest ?? undefined),
  ];
  if (baseline === null) {
    findings.push(info('no driver baseline: capture one with the baseline ceremony'));
    return judgement('driver_fingerprint', 'pass', 0, findings);
  }
  if (expected === null) {
    findings.push(critical('a GPU driver appeared since the baseline (none then)', found.module));
    return judgement('driver_fingerprint', 'fail', 1, findings);
  }
  const changes: Finding[] = [];
  if (found.version !== expected.version)
    changes.push(
      critical('driver version changed', `expected ${expected.version}, found ${found.version}`),
    );
  if (found.module !== expected.module)
    changes.push(
      critical('kernel module changed', `expected ${expected.module}, found ${found.module}`),
    );
  if (expected.moduleDigest !== null && found.moduleDigest !== expected.moduleDigest)
    changes.push(
      critical(
        'kernel module fingerprint changed',
        `expected ${expected.moduleDigest}, found ${found.moduleDigest ?? 'none'}`,
      ),
    );
  if (changes.length > 0)
    return judgement('driver_fingerprint', 'fail', 1, [...changes, ...findings]);
  return judgement('driver_fingerprint', 'pass', 0, findings);
}
