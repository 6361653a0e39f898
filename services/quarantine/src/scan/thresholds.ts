// Every number the static scan decides with, in one flat object the policy can carry
// (`params.thresholds` of the static_scan stage). Defaults are the reference's values
// (quarantine.md §2.5, §2.6.4, §2.7) unless marked "ours".
import { DEFAULT_QUANT_BLOCK_THRESHOLDS, type QuantBlockThresholds } from './ggufGuard.js';
import { DEFAULT_WEIGHT_THRESHOLDS, type WeightThresholds } from './weights.js';

export const DEFAULT_STATIC_SCAN_THRESHOLDS = Object.freeze({
  /** Wall-clock limit of the yara run, ms (reference YARA_SCAN_TIMEOUT: 120 s). */
  yaraTimeoutMs: 120_000,
  /** Entropy windows per file (ours; the reference took 3: start, middle, end). */
  entropySamples: 16,
  /** Bytes per entropy window (reference: 1 MiB). */
  entropySampleBytes: 1_048_576,
  /** A window of weights above this many bits/byte fails (reference: 7.99). */
  entropyMaxBitsPerByte: 7.99,
  /** Pickle-scanner opcodes per MiB of file before the scan counts as exhausted (ours). */
  pickleOpcodesPerMiB: 100_000,
  /** Pickle streams per file before the scan counts as exhausted (ours). */
  pickleMaxStreams: 10_000,
  /**
   * The least file pickle verdict that fails the static and diffusion scans, by rank
   * (PICKLE_VERDICT_RANK): 1 clean (any stream at all, even an inert chance run in weights),
   * 2 embedded (ours: a stream that imports anything), 3 incomplete. Never above 3: a scan that
   * ran out of budget, a suspicious and a malicious stream always fail.
   */
  pickleFailRank: 2,
  /** Values read per tensor for the statistics (gguf-guard: 1,000,000). */
  maxElementsPerTensor: 1_000_000,
  /** Fewer finite values than this: no statistics (reference: 16). */
  weightMinSamples: 16,
  /** |mean| above this: warning (reference: 10). */
  weightMaxAbsMean: 10,
  /** Variance below this with zero fraction < weightMaxZeroFraction: warning (reference: 1e-12). */
  weightMinVariance: 1e-12,
  /** Excess kurtosis above this: critical, "possible trojan patch" (reference: 100). */
  weightMaxKurtosis: 100,
  /** Zero fraction above this: warning (reference: 0.99). */
  weightMaxZeroFraction: 0.99,
  /** Outlier distance in standard deviations (gguf-guard: 3). */
  weightOutlierSigma: 3,
  /** More than this fraction of values beyond weightOutlierSigma: warning (gguf-guard: 0.10). */
  weightMaxOutlierFraction: 0.1,
  /**
   * Ours: more than this fraction of the model's parameters in tensors whose type the scan cannot
   * dequantise (IQ1/IQ2/IQ3 grids, ternary, FP8, ...) fails the stage (`weights_not_analysed`).
   * 1 allows any share (the finding is still reported); 0 refuses any unanalysed tensor.
   */
  maxUnanalysedWeightFraction: 1,
  /** A layer's mean further than this many σ from its role group: warning (gguf-guard: 5). */
  weightGroupSigma: 5,
  /**
   * 1: any of the reference `weight_stats` anomalies (|mean|, variance, kurtosis, zero fraction)
   * fails the stage, as the reference's in-repo check did even where gguf-guard only warned;
   * 0: only the gguf-guard verdict decides.
   */
  weightAnomalyFails: 1,
  /** Bytes of quantisation blocks read per tensor (gguf-guard: 64 MiB). */
  quantMaxBytesPerTensor: 67_108_864,
  /** The block-entropy checks need more blocks than this (gguf-guard: 10). */
  quantMinBlocks: 10,
  /** Scale entropy below this many bits: warning (gguf-guard: 1.0). */
  quantMinScaleEntropyBits: 1,
  /** Largest/smallest block scale above this: warning (gguf-guard: 1e6). */
  quantMaxScaleRatio: 1e6,
  /** Code entropy below this many bits: warning (gguf-guard: 2.0). */
  quantMinCodeEntropyBits: 2,
  /** More than this fraction of codes at the minimum (or the maximum): warning (gguf-guard: 0.5). */
  quantMaxSaturationFraction: 0.5,
  /** More than this fraction of blocks repeating the previous block: critical (gguf-guard: 0.1). */
  quantMaxRepeatedBlockFraction: 0.1,
  /** More than this fraction of blocks with a zero scale: warning (gguf-guard: 0.5). */
  quantMaxZeroScaleFraction: 0.5,
  /** |scale| below this is zero (gguf-guard: 1e-10). */
  quantZeroScale: 1e-10,
  /** |d| or |dmin| above this in any block: critical (ours). */
  quantMaxAbsScale: 1000,
  /** More than this fraction of constant blocks: warning (ours). */
  quantMaxDegenerateBlockFraction: 0.5,
  /** gguf-guard severity weights. */
  guardCriticalWeight: 0.3,
  guardWarningWeight: 0.1,
  guardInfoWeight: 0.02,
  /** Score above this: FAIL (gguf-guard: 0.5; any critical finding fails too). */
  guardFailScore: 0.5,
  /** Score above this: WARN, which passes (gguf-guard: 0.2). */
  guardWarnScore: 0.2,
});

export type StaticScanThresholds = {
  -readonly [K in keyof typeof DEFAULT_STATIC_SCAN_THRESHOLDS]: number;
};

/** Keys whose values must be positive integers. */
const INTEGER_KEYS: ReadonlySet<keyof StaticScanThresholds> = new Set([
  'yaraTimeoutMs',
  'entropySamples',
  'entropySampleBytes',
  'pickleOpcodesPerMiB',
  'pickleMaxStreams',
  'maxElementsPerTensor',
  'weightMinSamples',
  'quantMaxBytesPerTensor',
  'quantMinBlocks',
]);
const FRACTION_KEYS: ReadonlySet<keyof StaticScanThresholds> = new Set([
  'weightMaxZeroFraction',
  'weightMaxOutlierFraction',
  'maxUnanalysedWeightFraction',
  'quantMaxSaturationFraction',
  'quantMaxRepeatedBlockFraction',
  'quantMaxZeroScaleFraction',
  'quantMaxDegenerateBlockFraction',
  'guardCriticalWeight',
  'guardWarningWeight',
  'guardInfoWeight',
  'guardFailScore',
  'guardWarnScore',
]);

/** Keys with their own closed range. */
const RANGES: Partial<Record<keyof StaticScanThresholds, readonly [number, number]>> = {
  weightAnomalyFails: [0, 1],
  pickleFailRank: [1, 3],
};

export type ThresholdsParse =
  | { ok: true; thresholds: StaticScanThresholds }
  /** `key` as given; `detail` names it. */
  | { ok: false; key?: string; detail: string };

/**
 * Defaults overridden by `raw` (a plain object of numbers; undefined means all defaults). Unknown
 * keys, non-numbers, negative values, non-integers where counts are expected and fractions above 1
 * are refused: a policy typo must not silently disable a check.
 */
export function parseStaticScanThresholds(raw: unknown): ThresholdsParse {
  const thresholds: StaticScanThresholds = { ...DEFAULT_STATIC_SCAN_THRESHOLDS };
  if (raw === undefined || raw === null) return { ok: true, thresholds };
  if (typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, detail: 'thresholds must be an object of numbers' };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const refuse = (detail: string): ThresholdsParse => ({ ok: false, key, detail });
    if (!Object.hasOwn(DEFAULT_STATIC_SCAN_THRESHOLDS, key))
      return refuse(`unknown threshold ${JSON.stringify(key.slice(0, 64))}`);
    const k = key as keyof StaticScanThresholds;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      return refuse(`${k} must be a finite number ≥ 0`);
    if (INTEGER_KEYS.has(k) && (!Number.isSafeInteger(value) || value < 1))
      return refuse(`${k} must be a positive integer`);
    if (FRACTION_KEYS.has(k) && value > 1) return refuse(`${k} must be ≤ 1`);
    const range = RANGES[k];
    if (range !== undefined && (!Number.isInteger(value) || value < range[0] || value > range[1]))
      return refuse(`${k} must be an integer in [${range[0]}, ${range[1]}]`);
    thresholds[k] = value;
  }
  return { ok: true, thresholds };
}

export function weightThresholdsOf(t: StaticScanThresholds): WeightThresholds {
  return {
    ...DEFAULT_WEIGHT_THRESHOLDS,
    maxAbsMean: t.weightMaxAbsMean,
    minVariance: t.weightMinVariance,
    maxKurtosis: t.weightMaxKurtosis,
    maxZeroFraction: t.weightMaxZeroFraction,
    minSamples: t.weightMinSamples,
    outlierSigma: t.weightOutlierSigma,
    maxOutlierFraction: t.weightMaxOutlierFraction,
    groupSigma: t.weightGroupSigma,
    weights: {
      critical: t.guardCriticalWeight,
      warning: t.guardWarningWeight,
      info: t.guardInfoWeight,
    },
    failScore: t.guardFailScore,
    warnScore: t.guardWarnScore,
  };
}

export function quantThresholdsOf(t: StaticScanThresholds): QuantBlockThresholds {
  return {
    ...DEFAULT_QUANT_BLOCK_THRESHOLDS,
    maxBytesPerTensor: t.quantMaxBytesPerTensor,
    minBlocks: t.quantMinBlocks,
    minScaleEntropyBits: t.quantMinScaleEntropyBits,
    maxScaleRatio: t.quantMaxScaleRatio,
    minCodeEntropyBits: t.quantMinCodeEntropyBits,
    maxSaturationFraction: t.quantMaxSaturationFraction,
    maxRepeatedBlockFraction: t.quantMaxRepeatedBlockFraction,
    maxZeroScaleFraction: t.quantMaxZeroScaleFraction,
    zeroScale: t.quantZeroScale,
    maxAbsScale: t.quantMaxAbsScale,
    maxDegenerateBlockFraction: t.quantMaxDegenerateBlockFraction,
  };
}
