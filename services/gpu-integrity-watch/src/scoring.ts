import { GPU_PROBES, type GpuProbeName, type ProbeResultData } from '@secai/contracts';
import { round } from './probes/types.js';

// The reference's scoring model (§4.3): a weighted composite of the probes that ran, a verdict
// from it, and the trend over the last cycles. Pure.

export type GpuVerdictName = 'healthy' | 'warning' | 'critical';
export type Weights = Readonly<Record<GpuProbeName, number>>;

/** The reference's default weights (used when policy has no `gpu_watch.weights`). */
export const DEFAULT_WEIGHTS: Weights = {
  tensor_hash: 1.0,
  sentinel_inference: 1.0,
  reference_drift: 0.8,
  ecc_status: 0.6,
  driver_fingerprint: 1.0,
  device_allowlist: 0.8,
};

/** Composite at or above this is critical (the reference's number). */
export const CRITICAL_COMPOSITE = 0.9;
/** Composite at or above this is a warning (the reference's number). */
export const WARNING_COMPOSITE = 0.3;
/** Cycles the trend looks back over (the reference's APIs use 10). */
export const TREND_WINDOW = 10;

/**
 * The probes that watch the model a user runs. A drift in one of them is at least a warning:
 * averaged with five passing probes, the reference's drift score (0.5 at most) never reached
 * 0.3, so a model answering differently was reported healthy.
 */
export const MODEL_PROBES: readonly GpuProbeName[] = [
  'tensor_hash',
  'sentinel_inference',
  'reference_drift',
];

/** Policy's weights: absent ⇒ the defaults; present ⇒ each missing or zero weight counts 1. */
export function weightsOf(policy: Readonly<Record<string, number>> | undefined): Weights {
  if (policy === undefined) return DEFAULT_WEIGHTS;
  return Object.fromEntries(
    GPU_PROBES.map((p) => [p, Object.hasOwn(policy, p) && policy[p]! > 0 ? policy[p]! : 1]),
  ) as Record<GpuProbeName, number>;
}

/** Σ(score · weight) / Σ weight over the probes that ran (skips left out; errors in); 0 if none. */
export function compositeOf(probes: readonly ProbeResultData[], weights: Weights): number {
  let sum = 0;
  let total = 0;
  for (const p of probes) {
    if (p.status === 'skip') continue;
    sum += p.score * weights[p.probe];
    total += weights[p.probe];
  }
  return total === 0 ? 0 : Math.min(1, round(sum / total));
}

/**
 * Any probe failed ⇒ critical; composite ≥ 0.9 ⇒ critical; ≥ 0.3 ⇒ warning; a model probe
 * drifted ⇒ warning (our addition, see `MODEL_PROBES`); else healthy.
 */
export function verdictOf(probes: readonly ProbeResultData[], composite: number): GpuVerdictName {
  if (probes.some((p) => p.status === 'fail')) return 'critical';
  if (composite >= CRITICAL_COMPOSITE) return 'critical';
  if (composite >= WARNING_COMPOSITE) return 'warning';
  if (probes.some((p) => p.status === 'drift' && MODEL_PROBES.includes(p.probe))) return 'warning';
  return 'healthy';
}

/**
 * Mean composite of the newer half of the last `window` cycles minus that of the older half
 * (positive: worsening); 0 with fewer than two cycles.
 */
export function trendOf(composites: readonly number[], window = TREND_WINDOW): number {
  const last = composites.slice(-window);
  if (last.length < 2) return 0;
  const half = Math.floor(last.length / 2);
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return round(mean(last.slice(half)) - mean(last.slice(0, half)));
}

/** Scores and statuses of the probes that ran, by probe (the reference's `ScoreEntry` maps). */
export function probeMaps(probes: readonly ProbeResultData[]): {
  probeScores: Partial<Record<GpuProbeName, number>>;
  probeStatuses: Partial<Record<GpuProbeName, ProbeResultData['status']>>;
} {
  const probeScores: Partial<Record<GpuProbeName, number>> = {};
  const probeStatuses: Partial<Record<GpuProbeName, ProbeResultData['status']>> = {};
  for (const p of probes) {
    if (p.status === 'skip') continue;
    probeScores[p.probe] = p.score;
    probeStatuses[p.probe] = p.status;
  }
  return { probeScores, probeStatuses };
}
