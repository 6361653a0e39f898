// Weight statistics and gguf-guard's tensor-local checks (issue 4 §3.5, reference §2.5 item 7,
// §2.6.3, §2.6.4). The types read and ggml's reference dequantisation of each live in
// `dequant/` (table.ts): F32, F16, BF16, F64; Q4_0, Q4_1, Q5_0, Q5_1, Q8_0; Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K; IQ4_NL, IQ4_XS; MXFP4. Other types (the IQ1/IQ2/IQ3 grid types, ternary, ...) are not
// analysed: the reports list each such tensor (`unsupported_type`, info) and the share of the
// model's parameters they hold (`weights_not_analysed`), which a strict policy can refuse
// (threshold `maxUnanalysedWeightFraction`); neither is scored, since a gap in our coverage is not
// an anomaly of the model.
//
// Memory is bounded: data is read in chunks of whole blocks (≤ 1 MiB) and moments are accumulated
// online (Terriberry's extension of Welford to M2..M4). At most `maxElements` values (default
// 1,000,000, as gguf-guard) are read per tensor, as 64 evenly spread block-aligned windows over the
// whole tensor when it is larger; NaN/Inf/zero counts refer to the values read. A second pass over
// the same windows counts the values beyond `outlierSigma` (3) standard deviations from the mean.
//
// Tensor-local findings follow gguf-guard 0.2.0: NaN, Inf and kurtosis > 100 are critical; |mean|
// > 10, variance < 1e-12 with zero fraction < 0.99, zero fraction > 0.99 and > 10 % of values
// beyond 3σ are warnings. (By Chebyshev at most 1/9 of any distribution lies beyond 3σ, so the
// last check only fires for nearly two-point distributions; kept because gguf-guard has it.) The
// quantisation-block checks, the cross-layer check and the score live in ggufGuard.ts.
import { open, type FileHandle } from 'node:fs/promises';
import type { GgufTensorInfo } from '@secai/formats';
import {
  DEQUANT_TYPES,
  isBlockQuantType,
  isDequantType,
  type BlockQuantTypeName,
  type DequantType,
  type DequantTypeName,
} from './dequant/index.js';

export { halfToFloat, q4kScaleMin } from './dequant/index.js';

export interface WeightStats {
  /** Finite values accumulated. */
  count: number;
  /** Values read (finite + NaN + Inf). */
  sampled: number;
  totalElements: number;
  mean: number;
  /** Population variance. */
  variance: number;
  /** Excess kurtosis (0 for a normal distribution); 0 when the variance is 0. */
  kurtosis: number;
  zeroFraction: number;
  nanCount: number;
  infCount: number;
  min: number;
  max: number;
  /** Finite values with |x − mean| > outlierSigma·σ (0 when σ is 0). */
  outliers: number;
  /** outliers / count. */
  outlierFraction: number;
}

/** Every type whose values are read (the keys of DEQUANT_TYPES). */
export const SUPPORTED_WEIGHT_TYPES = Object.freeze(
  Object.keys(DEQUANT_TYPES) as DequantTypeName[],
);
export type SupportedWeightType = DequantTypeName;

/** The block-quantised types among them. */
export const QUANTISED_WEIGHT_TYPES = Object.freeze(
  SUPPORTED_WEIGHT_TYPES.filter((t): t is BlockQuantTypeName => isBlockQuantType(t)),
);
export type QuantisedWeightType = BlockQuantTypeName;

export interface WeightStatsOptions {
  /** Absolute offset of the tensor data section (GgufAccepted.dataOffset). */
  dataOffset: number;
  /** Values read per tensor (default 1,000,000). Infinity reads every value. */
  maxElements?: number;
  /** Outlier distance in standard deviations (default 3, gguf-guard). */
  outlierSigma?: number;
  /** An open handle of the same file, reused instead of opening `path` again. */
  handle?: FileHandle;
}

export interface WeightThresholds {
  maxAbsMean: number;
  minVariance: number;
  maxKurtosis: number;
  maxZeroFraction: number;
  minSamples: number;
  /** Values further than this many σ from the mean are outliers (gguf-guard: 3). */
  outlierSigma: number;
  /** More than this fraction of outliers is a warning (gguf-guard: 0.10). */
  maxOutlierFraction: number;
  groupSigma: number;
  weights: { critical: number; warning: number; info: number };
  failScore: number;
  warnScore: number;
}

/** The reference's values (§2.5 item 7, §2.6.4). */
export const DEFAULT_WEIGHT_THRESHOLDS: Readonly<WeightThresholds> = Object.freeze({
  maxAbsMean: 10,
  minVariance: 1e-12,
  maxKurtosis: 100,
  maxZeroFraction: 0.99,
  minSamples: 16,
  outlierSigma: 3,
  maxOutlierFraction: 0.1,
  groupSigma: 5,
  weights: Object.freeze({ critical: 0.3, warning: 0.1, info: 0.02 }),
  failScore: 0.5,
  warnScore: 0.2,
});

/** A type's block geometry and dequantiser (the first release's name of DequantType). */
export type TypeLayout = DequantType;

/** The first release's name of DEQUANT_TYPES. */
export const WEIGHT_LAYOUTS: Readonly<Record<SupportedWeightType, TypeLayout>> = DEQUANT_TYPES;

export function isSupportedWeightType(type: string): type is SupportedWeightType {
  return isDequantType(type);
}

export function isQuantisedWeightType(type: string): type is QuantisedWeightType {
  return isBlockQuantType(type);
}

/** Dequantises the block(s) of `type` in `bytes` from `at` (tests, hand-computed values). */
export function dequantizeBlocks(
  type: SupportedWeightType,
  bytes: Uint8Array,
  blocks = 1,
  at = 0,
): Float64Array {
  const layout = WEIGHT_LAYOUTS[type];
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (at + blocks * layout.typeSize > b.length) throw new RangeError('not enough bytes');
  const out = new Float64Array(blocks * layout.blockSize);
  let i = 0;
  for (let k = 0; k < blocks; k++)
    layout.decode(b, at + k * layout.typeSize, (x) => (out[i++] = x));
  return out;
}

class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  m3 = 0;
  m4 = 0;
  zeros = 0;
  nan = 0;
  inf = 0;
  min = Infinity;
  max = -Infinity;
  push(x: number): void {
    if (Number.isNaN(x)) {
      this.nan++;
      return;
    }
    if (!Number.isFinite(x)) {
      this.inf++;
      return;
    }
    if (x === 0) this.zeros++;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    const n1 = this.n;
    this.n++;
    const n = this.n;
    const delta = x - this.mean;
    const dn = delta / n;
    const dn2 = dn * dn;
    const t1 = delta * dn * n1;
    this.mean += dn;
    this.m4 += t1 * dn2 * (n * n - 3 * n + 3) + 6 * dn2 * this.m2 - 4 * dn * this.m3;
    this.m3 += t1 * dn * (n - 2) - 3 * dn * this.m2;
    this.m2 += t1;
  }
}

export async function readFully(
  fh: FileHandle,
  buf: Buffer,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
}

/**
 * `[startBlock, blockCount]` windows: everything when `wanted ≥ total`, else `min(64, wanted)`
 * windows evenly spread from the first block to the last, `wanted` blocks in all.
 */
export function sampleWindows(totalBlocks: number, wanted: number): [number, number][] {
  const blocksWanted = Math.min(totalBlocks, Math.max(1, wanted));
  if (blocksWanted >= totalBlocks) return totalBlocks > 0 ? [[0, totalBlocks]] : [];
  const windows: [number, number][] = [];
  const nWin = Math.min(64, blocksWanted);
  const per = Math.floor(blocksWanted / nWin);
  const extra = blocksWanted - per * nWin;
  for (let w = 0; w < nWin; w++) {
    const count = per + (w < extra ? 1 : 0);
    const start = Math.floor(((totalBlocks - count) * w) / Math.max(1, nWin - 1));
    windows.push([start, count]);
  }
  return windows;
}

/**
 * Reads the windows of a tensor in chunks of whole blocks (≤ 1 MiB), calling `onChunk(buf, n,
 * windowStart)` with `n` blocks in `buf` (`windowStart` true for the first chunk of a window).
 */
export async function readBlockWindows(
  fh: FileHandle,
  base: number,
  typeSize: number,
  windows: readonly [number, number][],
  onChunk: (buf: Buffer, blocks: number, windowStart: boolean) => void,
): Promise<void> {
  const chunkBlocks = Math.max(1, Math.floor((1024 * 1024) / typeSize));
  const buf = Buffer.alloc(chunkBlocks * typeSize);
  for (const [start, count] of windows) {
    for (let blk = start; blk < start + count; blk += chunkBlocks) {
      const n = Math.min(chunkBlocks, start + count - blk);
      await readFully(fh, buf, n * typeSize, base + blk * typeSize);
      onChunk(buf, n, blk === start);
    }
  }
}

async function withHandle<T>(
  path: string,
  handle: FileHandle | undefined,
  f: (fh: FileHandle) => Promise<T>,
): Promise<T> {
  if (handle !== undefined) return f(handle);
  const fh = await open(path, 'r');
  try {
    return await f(fh);
  } finally {
    await fh.close();
  }
}

/**
 * Streams one tensor's data (from inspectGguf, or a safetensors tensor in the same shape) and
 * computes its statistics. Throws for an unsupported type or an I/O error (the reports turn both
 * into findings).
 */
export async function weightStatistics(
  path: string,
  tensor: Pick<GgufTensorInfo, 'name' | 'type' | 'elements' | 'offset'>,
  options: WeightStatsOptions,
): Promise<WeightStats> {
  if (!isSupportedWeightType(tensor.type))
    throw new Error(`unsupported tensor type ${tensor.type}`);
  const layout = WEIGHT_LAYOUTS[tensor.type];
  const maxElements = options.maxElements ?? 1_000_000;
  const k = options.outlierSigma ?? DEFAULT_WEIGHT_THRESHOLDS.outlierSigma;
  const totalBlocks = Math.floor(tensor.elements / layout.blockSize);
  const windows = sampleWindows(totalBlocks, Math.ceil(maxElements / layout.blockSize));
  const base = options.dataOffset + tensor.offset;
  const m = new Moments();
  let outliers = 0;
  await withHandle(path, options.handle, async (fh) => {
    const push = (x: number): void => m.push(x);
    await readBlockWindows(fh, base, layout.typeSize, windows, (buf, n) => {
      for (let i = 0; i < n; i++) layout.decode(buf, i * layout.typeSize, push);
    });
    const sd = m.n > 0 ? Math.sqrt(m.m2 / m.n) : 0;
    if (sd > 0) {
      const mean = m.mean;
      const limit = k * sd;
      const count = (x: number): void => {
        if (Number.isFinite(x) && Math.abs(x - mean) > limit) outliers++;
      };
      await readBlockWindows(fh, base, layout.typeSize, windows, (buf, n) => {
        for (let i = 0; i < n; i++) layout.decode(buf, i * layout.typeSize, count);
      });
    }
  });
  const variance = m.n > 0 ? m.m2 / m.n : 0;
  return {
    count: m.n,
    sampled: m.n + m.nan + m.inf,
    totalElements: tensor.elements,
    mean: m.mean,
    variance,
    kurtosis: m.m2 > 0 ? (m.n * m.m4) / (m.m2 * m.m2) - 3 : 0,
    zeroFraction: m.n > 0 ? m.zeros / m.n : 0,
    nanCount: m.nan,
    infCount: m.inf,
    min: m.n > 0 ? m.min : 0,
    max: m.n > 0 ? m.max : 0,
    outliers,
    outlierFraction: m.n > 0 ? outliers / m.n : 0,
  };
}

export type WeightSeverity = 'critical' | 'warning' | 'info';
export type WeightFindingCode =
  | 'nan_values'
  | 'inf_values'
  | 'extreme_kurtosis'
  | 'large_mean'
  | 'constant_tensor'
  | 'mostly_zero'
  | 'high_outlier_ratio'
  | 'group_mean_outlier'
  | 'unsupported_type'
  | 'weights_not_analysed'
  | 'too_few_samples'
  | 'read_failed'
  | 'quant_scale_nonfinite'
  | 'quant_scale_huge'
  | 'quant_zero_scales'
  | 'quant_scale_ratio'
  | 'quant_low_scale_entropy'
  | 'quant_low_code_entropy'
  | 'quant_saturation_low'
  | 'quant_saturation_high'
  | 'quant_repeated_blocks'
  | 'quant_degenerate_blocks';

/** Coverage notes: reported, never scored (a gap in our coverage is no anomaly of the model). */
export const UNSCORED_WEIGHT_CODES: ReadonlySet<WeightFindingCode> = new Set([
  'unsupported_type',
  'weights_not_analysed',
]);

/** The four checks of the reference's in-repo `weight_stats`, which failed on any of them. */
export const REFERENCE_WEIGHT_STATS_CODES: ReadonlySet<WeightFindingCode> = new Set([
  'large_mean',
  'constant_tensor',
  'extreme_kurtosis',
  'mostly_zero',
]);

export interface WeightFinding {
  tensor: string;
  code: WeightFindingCode;
  severity: WeightSeverity;
  detail: string;
  layer: 'tensor' | 'group' | 'global';
}

/** Tensor-local findings of one tensor's statistics (reference thresholds by default). */
export function tensorFindings(
  name: string,
  s: WeightStats,
  t: Readonly<WeightThresholds> = DEFAULT_WEIGHT_THRESHOLDS,
): WeightFinding[] {
  const out: WeightFinding[] = [];
  const f = (code: WeightFindingCode, severity: WeightSeverity, detail: string): void => {
    out.push({ tensor: name, code, severity, detail, layer: 'tensor' });
  };
  if (s.nanCount > 0) f('nan_values', 'critical', `${s.nanCount} NaN values`);
  if (s.infCount > 0) f('inf_values', 'critical', `${s.infCount} infinite values`);
  if (s.count < t.minSamples) {
    f('too_few_samples', 'info', `${s.count} finite values (< ${t.minSamples})`);
    return out;
  }
  if (Math.abs(s.mean) > t.maxAbsMean)
    f('large_mean', 'warning', `|mean| ${s.mean.toPrecision(4)} > ${t.maxAbsMean}`);
  if (s.kurtosis > t.maxKurtosis) {
    f(
      'extreme_kurtosis',
      'critical',
      `kurtosis ${s.kurtosis.toPrecision(4)} > ${t.maxKurtosis} (possible trojan patch)`,
    );
  }
  if (s.variance < t.minVariance && s.zeroFraction < t.maxZeroFraction) {
    f('constant_tensor', 'warning', `variance ${s.variance.toExponential(2)} < ${t.minVariance}`);
  }
  if (s.zeroFraction > t.maxZeroFraction) {
    f(
      'mostly_zero',
      'warning',
      `zero fraction ${s.zeroFraction.toFixed(4)} > ${t.maxZeroFraction}`,
    );
  }
  if (s.outlierFraction > t.maxOutlierFraction) {
    f(
      'high_outlier_ratio',
      'warning',
      `${(s.outlierFraction * 100).toFixed(1)} % of values beyond ${t.outlierSigma}σ (> ${t.maxOutlierFraction * 100} %)`,
    );
  }
  return out;
}

/** GGUF and safetensors integer and boolean types: indices and masks, not weights. */
const INTEGER_TENSOR_TYPES: ReadonlySet<string> = new Set([
  'BOOL',
  'U8',
  'I8',
  'U16',
  'I16',
  'U32',
  'I32',
  'U64',
  'I64',
]);

export function isIntegerTensorType(type: string): boolean {
  return INTEGER_TENSOR_TYPES.has(type);
}

/** How much of a model's weights the statistics could read. */
export interface WeightCoverage {
  /** Elements of every float or quantised tensor (integer tensors hold indices, not weights). */
  parameters: number;
  /** Elements of those whose type is not dequantised. */
  notAnalysed: number;
  /** notAnalysed / parameters (0 when there are none). */
  fraction: number;
  /** The types not dequantised, most parameters first. */
  types: { type: string; tensors: number; parameters: number }[];
}

/** The coverage of a list of tensors (their ggml or safetensors type names and sizes). */
export function weightCoverage(
  tensors: readonly { type: string; elements: number }[],
): WeightCoverage {
  let parameters = 0;
  const missing = new Map<string, { type: string; tensors: number; parameters: number }>();
  for (const t of tensors) {
    if (INTEGER_TENSOR_TYPES.has(t.type)) continue;
    parameters += t.elements;
    if (isSupportedWeightType(t.type)) continue;
    const entry = missing.get(t.type) ?? { type: t.type, tensors: 0, parameters: 0 };
    entry.tensors++;
    entry.parameters += t.elements;
    missing.set(t.type, entry);
  }
  return coverageOf(parameters, [...missing.values()]);
}

/** The coverage of several files (a diffusers directory) as one. */
export function combineCoverage(parts: readonly WeightCoverage[]): WeightCoverage {
  const byType = new Map<string, { type: string; tensors: number; parameters: number }>();
  for (const p of parts)
    for (const t of p.types) {
      const entry = byType.get(t.type) ?? { type: t.type, tensors: 0, parameters: 0 };
      entry.tensors += t.tensors;
      entry.parameters += t.parameters;
      byType.set(t.type, entry);
    }
  return coverageOf(
    parts.reduce((a, p) => a + p.parameters, 0),
    [...byType.values()],
  );
}

function coverageOf(parameters: number, types: WeightCoverage['types']): WeightCoverage {
  const notAnalysed = types.reduce((a, t) => a + t.parameters, 0);
  return {
    parameters,
    notAnalysed,
    fraction: parameters > 0 ? notAnalysed / parameters : 0,
    types: [...types].sort((a, b) => b.parameters - a.parameters || (a.type < b.type ? -1 : 1)),
  };
}

/** "62.50 % of the parameters (1000 of 1600) ... IQ2_XXS (14 tensors), ..." for a detail. */
export function describeCoverage(c: WeightCoverage): string {
  const types = c.types.map((t) => `${t.type} (${t.tensors} tensor${t.tensors === 1 ? '' : 's'})`);
  return `${(c.fraction * 100).toFixed(2)} % of the parameters (${c.notAnalysed} of ${c.parameters}) are in types the weight statistics do not read: ${types.join(', ')}`;
}

/** The model-wide coverage note, when any parameter was not analysed. */
export function coverageFindings(c: WeightCoverage): WeightFinding[] {
  if (c.notAnalysed === 0) return [];
  return [
    {
      tensor: 'model',
      code: 'weights_not_analysed',
      severity: 'info',
      detail: describeCoverage(c),
      layer: 'global',
    },
  ];
}
