// Weight statistics and gguf-guard's tensor-local checks (issue 4 §3.5, reference §2.5 item 7,
// §2.6.3, §2.6.4). Supported types: F32, F16, BF16 and dequantised Q8_0, Q4_0, Q4_K, Q6_K (ggml's
// reference dequantisation, `dequantizeBlock`). Other types are reported as `unsupported_type`
// (info, not scored: it is a gap in our coverage, not an anomaly of the model) and skipped.
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

export const SUPPORTED_WEIGHT_TYPES = [
  'F32',
  'F16',
  'BF16',
  'Q8_0',
  'Q4_0',
  'Q4_K',
  'Q6_K',
] as const;
export type SupportedWeightType = (typeof SUPPORTED_WEIGHT_TYPES)[number];

/** The block-quantised types among them. */
export const QUANTISED_WEIGHT_TYPES = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] as const;
export type QuantisedWeightType = (typeof QUANTISED_WEIGHT_TYPES)[number];

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

/** IEEE binary16 bits → number (NaN and ±Infinity preserved). */
export const halfToFloat = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
};
const bf16Buf = new DataView(new ArrayBuffer(4));
const bf16 = (h: number): number => {
  bf16Buf.setUint32(0, h << 16);
  return bf16Buf.getFloat32(0);
};

export interface TypeLayout {
  blockSize: number;
  typeSize: number;
  /** Dequantises one block starting at `at` in `b`, calling `emit` for each value in order. */
  decode: (b: Buffer, at: number, emit: (x: number) => void) => void;
}

/** Q4_K's 6-bit scale and min of sub-block j (ggml `get_scale_min_k4`). */
export function q4kScaleMin(scales: (k: number) => number, j: number): [number, number] {
  return j < 4
    ? [scales(j) & 63, scales(j + 4) & 63]
    : [
        (scales(j + 4) & 0xf) | ((scales(j - 4) >>> 6) << 4),
        (scales(j + 4) >>> 4) | ((scales(j) >>> 6) << 4),
      ];
}

export const WEIGHT_LAYOUTS: Readonly<Record<SupportedWeightType, TypeLayout>> = {
  F32: { blockSize: 1, typeSize: 4, decode: (b, at, emit) => emit(b.readFloatLE(at)) },
  F16: {
    blockSize: 1,
    typeSize: 2,
    decode: (b, at, emit) => emit(halfToFloat(b.readUInt16LE(at))),
  },
  BF16: { blockSize: 1, typeSize: 2, decode: (b, at, emit) => emit(bf16(b.readUInt16LE(at))) },
  // block_q8_0: f16 d, int8 qs[32]; x = d·q.
  Q8_0: {
    blockSize: 32,
    typeSize: 34,
    decode: (b, at, emit) => {
      const d = halfToFloat(b.readUInt16LE(at));
      for (let j = 0; j < 32; j++) emit(d * b.readInt8(at + 2 + j));
    },
  },
  // block_q4_0: f16 d, qs[16]; element j is the low nibble of qs[j], element j+16 the high one;
  // x = d·(q − 8).
  Q4_0: {
    blockSize: 32,
    typeSize: 18,
    decode: (b, at, emit) => {
      const d = halfToFloat(b.readUInt16LE(at));
      for (let j = 0; j < 16; j++) emit(d * (((b[at + 2 + j] ?? 0) & 0x0f) - 8));
      for (let j = 0; j < 16; j++) emit(d * (((b[at + 2 + j] ?? 0) >>> 4) - 8));
    },
  },
  // block_q4_K: f16 d, f16 dmin, scales[12] (8 packed 6-bit scales and mins), qs[128]; sub-block
  // 2i uses the low nibbles of qs[32i..32i+31], sub-block 2i+1 the high ones; x = d·sc·q − dmin·m.
  Q4_K: {
    blockSize: 256,
    typeSize: 144,
    decode: (b, at, emit) => {
      const d = halfToFloat(b.readUInt16LE(at));
      const dmin = halfToFloat(b.readUInt16LE(at + 2));
      const sc = (k: number): number => b[at + 4 + k] ?? 0;
      let q = at + 16;
      for (let is = 0; is < 8; is += 2) {
        const [s1, m1] = q4kScaleMin(sc, is);
        const [s2, m2] = q4kScaleMin(sc, is + 1);
        for (let l = 0; l < 32; l++) emit(d * s1 * ((b[q + l] ?? 0) & 0xf) - dmin * m1);
        for (let l = 0; l < 32; l++) emit(d * s2 * ((b[q + l] ?? 0) >>> 4) - dmin * m2);
        q += 32;
      }
    },
  },
  // block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], f16 d at 208;
  // x = d·scale[e/16]·(q − 32), elements interleaved as in ggml's dequantize_row_q6_K.
  Q6_K: {
    blockSize: 256,
    typeSize: 210,
    decode: (b, at, emit) => {
      const d = halfToFloat(b.readUInt16LE(at + 208));
      const out = new Float64Array(256);
      forEachQ6kCode(b, at, (e, q) => {
        out[e] = d * b.readInt8(at + 192 + (e >>> 4)) * (q - 32);
      });
      for (const x of out) emit(x);
    },
  },
};

/** Calls `f(element, code)` for the 256 6-bit codes (0..63) of a Q6_K block, in ggml's layout. */
export function forEachQ6kCode(b: Buffer, at: number, f: (e: number, q: number) => void): void {
  for (let n = 0; n < 2; n++) {
    const ql = at + 64 * n;
    const qh = at + 128 + 32 * n;
    const base = 128 * n;
    for (let l = 0; l < 32; l++) {
      const lo = b[ql + l] ?? 0;
      const lo2 = b[ql + l + 32] ?? 0;
      const h = b[qh + l] ?? 0;
      f(base + l, (lo & 0xf) | ((h & 3) << 4));
      f(base + l + 32, (lo2 & 0xf) | (((h >>> 2) & 3) << 4));
      f(base + l + 64, (lo >>> 4) | (((h >>> 4) & 3) << 4));
      f(base + l + 96, (lo2 >>> 4) | (((h >>> 6) & 3) << 4));
    }
  }
}

export function isSupportedWeightType(type: string): type is SupportedWeightType {
  return (SUPPORTED_WEIGHT_TYPES as readonly string[]).includes(type);
}

export function isQuantisedWeightType(type: string): type is QuantisedWeightType {
  return (QUANTISED_WEIGHT_TYPES as readonly string[]).includes(type);
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
