// gguf-guard, in-process (issue 4 §3.5, reference §2.6.4): the quantisation-block checks, the
// cross-layer group check and the score, on top of the tensor-local statistics of weights.ts.
//
// Quantisation-block checks (every block-quantised type of dequant/table.ts; ≤ 64 MiB of blocks
// read per tensor, as 64 evenly spread windows when the tensor is larger). They look at the raw
// blocks, not the dequantised values, so they see anomalies hidden in scale placement, code usage
// and block structure. gguf-guard's seven, with its thresholds and severities:
//   - scale entropy < 1.0 bit (64-bin histogram of the block scales d between their min and max)
//     with > 10 blocks: warning `quant_low_scale_entropy`;
//   - max/min scale ratio > 1e6: warning `quant_scale_ratio` (ours: ratio of magnitudes over the
//     scales ≥ 1e-10; gguf-guard divides signed values, which Q4_0/Q6_K's negative d confuses);
//   - code entropy < 2.0 bits with > 10 blocks: warning `quant_low_code_entropy` (ours: at most
//     half the code width, so 1 bit for Q2_K's 2-bit and 1.5 bits for Q3_K's 3-bit codes, whose
//     well-spread codes hold less than 2 bits);
//   - > 50 % of codes at the minimum code / at the maximum code: warnings `quant_saturation_low` /
//     `quant_saturation_high` (Q8_0's minimum is −127 or −128: ggml never writes −128);
//   - > 10 % of blocks byte-identical to the previous block: critical `quant_repeated_blocks`;
//   - > 50 % of blocks with |d| < 1e-10: warning `quant_zero_scales`.
// Ours in addition (gguf-guard only sees these through the dequantised values):
//   - any block whose d or dmin is NaN or ±Inf: critical `quant_scale_nonfinite`;
//   - any block whose |d| or |dmin| exceeds 1,000: critical `quant_scale_huge`. A trained
//     transformer's scales are ≲ 1 (Q8_0's d is max|w|/127, a K-quant's d a scale of 6-bit
//     sub-scales); a d of 1,000 already means dequantised weights of 10⁵–10⁶, which only an attack
//     on the numerics (overflow to Inf in f16 activations) or corruption produces;
//   - > 50 % degenerate blocks (d = 0 or every code equal: the block dequantises to a constant):
//     warning `quant_degenerate_blocks`.
//
// Score (gguf-guard): severity weights critical 0.30, warning 0.10, info 0.02; score =
// max(layered, min(1, raw sum)) with layered = 0.30·tensor-local + 0.25·role-group + 0.20·global
// (0.2 when anomalies per affected tensor > 3) (+ 0.25·reference profile, which neither the
// reference nor we use), each layer capped at 1. Verdict FAIL on any critical or score > 0.5,
// WARN when score > 0.2, else PASS. Coverage notes (`unsupported_type` for each tensor whose type
// is not dequantised, `weights_not_analysed` for the model's share of such parameters) are
// reported but not scored.
import { open, type FileHandle } from 'node:fs/promises';
import type { GgufAccepted, GgufTensorInfo } from '@secai/formats';
import type { SafetensorsTensor } from '@secai/formats';
import { DEQUANT_TYPES, type BlockCodes } from './dequant/index.js';
import {
  DEFAULT_WEIGHT_THRESHOLDS,
  SUPPORTED_WEIGHT_TYPES,
  UNSCORED_WEIGHT_CODES,
  coverageFindings,
  isIntegerTensorType,
  isQuantisedWeightType,
  isSupportedWeightType,
  readBlockWindows,
  sampleWindows,
  tensorFindings,
  weightCoverage,
  weightStatistics,
  type QuantisedWeightType,
  type WeightCoverage,
  type WeightFinding,
  type WeightSeverity,
  type WeightStats,
  type WeightThresholds,
} from './weights.js';

export interface QuantBlockThresholds {
  /** Bytes of blocks read per tensor (gguf-guard: 64 MiB). */
  maxBytesPerTensor: number;
  /** The entropy checks need more than this many blocks (gguf-guard: 10). */
  minBlocks: number;
  minScaleEntropyBits: number;
  maxScaleRatio: number;
  minCodeEntropyBits: number;
  maxSaturationFraction: number;
  maxRepeatedBlockFraction: number;
  maxZeroScaleFraction: number;
  /** |d| below this is a zero scale (gguf-guard: 1e-10). */
  zeroScale: number;
  /** |d| or |dmin| above this is a huge scale (ours: 1,000). */
  maxAbsScale: number;
  maxDegenerateBlockFraction: number;
}

export const DEFAULT_QUANT_BLOCK_THRESHOLDS: Readonly<QuantBlockThresholds> = Object.freeze({
  maxBytesPerTensor: 64 * 1024 * 1024,
  minBlocks: 10,
  minScaleEntropyBits: 1,
  maxScaleRatio: 1e6,
  minCodeEntropyBits: 2,
  maxSaturationFraction: 0.5,
  maxRepeatedBlockFraction: 0.1,
  maxZeroScaleFraction: 0.5,
  zeroScale: 1e-10,
  maxAbsScale: 1000,
  maxDegenerateBlockFraction: 0.5,
});

export interface QuantBlockStats {
  type: QuantisedWeightType;
  totalBlocks: number;
  /** Blocks read. */
  blocks: number;
  /** Blocks whose d (or dmin, or Q4_1/Q5_1's min) is NaN or ±Infinity. */
  nonFiniteScales: number;
  /** Blocks whose |d| or |dmin| exceeds `maxAbsScale`. */
  hugeScales: number;
  /** Blocks with |d| < `zeroScale`. */
  zeroScales: number;
  /** Blocks that dequantise to a constant: d = 0 or every code equal. */
  degenerateBlocks: number;
  /** Blocks byte-identical to the block before them (inside a window). */
  repeatedBlocks: number;
  /** Over the finite d values. */
  scaleMin: number;
  scaleMax: number;
  /** Largest finite |d| or |dmin|. */
  maxAbsScale: number;
  /** Shannon entropy (bits) of a 64-bin histogram of the finite d values. */
  scaleEntropy: number;
  /** max|d| / min|d| over the finite |d| ≥ zeroScale (0 when there are none). */
  scaleRatio: number;
  /** Shannon entropy (bits) of the quantised codes. */
  codeEntropy: number;
  saturationLow: number;
  saturationHigh: number;
}

/** One block's codes, gathered from their bit planes. */
const planeCodes = new Uint8Array(256);

/**
 * Adds the codes of one block to the histograms; returns true when every code is the same.
 * `byteCounts` collects raw bytes (bytes, nibbles and crumbs, mapped to codes at the end, which
 * keeps the hot loop to one increment per byte); `codeCounts` collects the codes of the other
 * packings directly. The loops run once per code of every block read (up to 200 million per
 * tensor), so they index without fallbacks: every index is in range by construction (codes below
 * `codec.codes`, bytes below 256, positions inside the block), and a `?? 0` there costs several
 * times the increment.
 */
function countCodes(
  codec: BlockCodes,
  blockSize: number,
  b: Buffer,
  at: number,
  byteCounts: Float64Array,
  codeCounts: Float64Array,
): boolean {
  if (codec.packing === 'planes') {
    codec.codesInto?.(b, at, planeCodes);
    const first = planeCodes[0]!;
    let differ = 0;
    for (let i = 0; i < blockSize; i++) {
      const q = planeCodes[i]!;
      codeCounts[q] = codeCounts[q]! + 1;
      differ |= q ^ first;
    }
    return differ === 0;
  }
  const start = at + codec.from;
  const end = start + codec.count;
  const first = b[start]!;
  let differ = 0;
  for (let i = start; i < end; i++) {
    const v = b[i]!;
    byteCounts[v] = byteCounts[v]! + 1;
    differ |= v ^ first;
  }
  if (differ !== 0) return false;
  // Every byte is the same: its codes must be too.
  if (codec.packing === 'nibbles') return (first & 0x0f) === first >>> 4;
  if (codec.packing === 'crumbs') return first % 0x55 === 0;
  return true;
}

/** Folds the raw byte histogram into the code histogram. */
function foldByteCounts(
  codec: BlockCodes,
  byteCounts: Float64Array,
  codeCounts: Float64Array,
): void {
  for (let v = 0; v < 256; v++) {
    const n = byteCounts[v] ?? 0;
    if (n === 0) continue;
    if (codec.packing === 'bytes') codeCounts[v ^ 0x80] = (codeCounts[v ^ 0x80] ?? 0) + n;
    else if (codec.packing === 'nibbles') {
      codeCounts[v & 0x0f] = (codeCounts[v & 0x0f] ?? 0) + n;
      codeCounts[v >>> 4] = (codeCounts[v >>> 4] ?? 0) + n;
    } else if (codec.packing === 'crumbs') {
      for (let shift = 0; shift < 8; shift += 2)
        codeCounts[(v >>> shift) & 3] = (codeCounts[(v >>> shift) & 3] ?? 0) + n;
    }
  }
}

function entropyOf(counts: ArrayLike<number>, total: number): number {
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c === 0) continue;
    const p = c / total;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Whether `n` bytes at `a` and at `b` of `buf` are equal. A loop, not Buffer.compare: consecutive
 * blocks differ within their first bytes, and a native call per block costs more than that.
 */
function sameBytes(buf: Buffer, a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (buf[a + k] !== buf[b + k]) return false;
  return true;
}

/** gguf-guard's scale entropy: 64 bins between min and max, 0 when the range is < 1e-10. */
export function scaleHistogramEntropy(scales: ArrayLike<number>, bins = 64): number {
  let min = Infinity;
  let max = -Infinity;
  let n = 0;
  for (let i = 0; i < scales.length; i++) {
    const s = scales[i] ?? NaN;
    if (!Number.isFinite(s)) continue;
    n++;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  if (n < 2 || max - min < 1e-10) return 0;
  const counts = new Float64Array(bins);
  for (let i = 0; i < scales.length; i++) {
    const s = scales[i] ?? NaN;
    if (!Number.isFinite(s)) continue;
    const idx = Math.min(bins - 1, Math.max(0, Math.floor(((bins - 1) * (s - min)) / (max - min))));
    counts[idx] = (counts[idx] ?? 0) + 1;
  }
  return entropyOf(counts, n);
}

export interface QuantBlockStatsOptions {
  dataOffset: number;
  thresholds?: Partial<QuantBlockThresholds>;
  handle?: FileHandle;
}

/** Reads the raw blocks of one quantised tensor and computes gguf-guard's block statistics. */
export async function quantBlockStatistics(
  path: string,
  tensor: Pick<GgufTensorInfo, 'name' | 'type' | 'elements' | 'offset'>,
  options: QuantBlockStatsOptions,
): Promise<QuantBlockStats> {
  if (!isQuantisedWeightType(tensor.type)) throw new Error(`${tensor.type} is not block-quantised`);
  const type = tensor.type;
  const t = { ...DEFAULT_QUANT_BLOCK_THRESHOLDS, ...options.thresholds };
  const layout = DEQUANT_TYPES[type];
  const codec = layout.block;
  const totalBlocks = Math.floor(tensor.elements / layout.blockSize);
  const windows = sampleWindows(
    totalBlocks,
    Math.max(1, Math.floor(t.maxBytesPerTensor / layout.typeSize)),
  );
  const wanted = windows.reduce((a, [, n]) => a + n, 0);
  const dValues = new Float32Array(wanted);
  const codeCounts = new Float64Array(codec.codes);
  const byteCounts = new Float64Array(256);
  let blocks = 0;
  let nonFinite = 0;
  let huge = 0;
  let zero = 0;
  let degenerate = 0;
  let repeated = 0;
  let maxAbs = 0;
  const size = layout.typeSize;
  const prev = Buffer.alloc(size);
  let havePrev = false;
  const scale = (x: number): void => {
    if (!Number.isFinite(x)) return;
    const a = Math.abs(x);
    if (a > maxAbs) maxAbs = a;
  };

  const run = async (fh: FileHandle): Promise<void> => {
    await readBlockWindows(
      fh,
      options.dataOffset + tensor.offset,
      layout.typeSize,
      windows,
      (buf, n, windowStart) => {
        if (windowStart) havePrev = false;
        for (let i = 0; i < n; i++) {
          const at = i * size;
          const d = codec.d(buf, at);
          const dmin = codec.dmin === undefined ? 0 : codec.dmin(buf, at);
          dValues[blocks] = d;
          if (!Number.isFinite(d) || !Number.isFinite(dmin)) nonFinite++;
          scale(d);
          scale(dmin);
          if (Math.abs(d) > t.maxAbsScale || Math.abs(dmin) > t.maxAbsScale) huge++;
          if (Math.abs(d) < t.zeroScale) zero++;
          const allEqual = countCodes(codec, layout.blockSize, buf, at, byteCounts, codeCounts);
          if (d === 0 || allEqual) degenerate++;
          const repeats =
            i > 0
              ? sameBytes(buf, at - size, at, size)
              : havePrev && buf.compare(prev, 0, size, at, at + size) === 0;
          if (repeats) repeated++;
          blocks++;
        }
        // The next chunk's first block is compared with this chunk's last.
        if (n > 0) buf.copy(prev, 0, (n - 1) * size, n * size);
        havePrev = n > 0;
      },
    );
  };
  if (options.handle !== undefined) await run(options.handle);
  else {
    const fh = await open(path, 'r');
    try {
      await run(fh);
    } finally {
      await fh.close();
    }
  }

  let scaleMin = Infinity;
  let scaleMax = -Infinity;
  let absMin = Infinity;
  let absMax = 0;
  for (const d of dValues.subarray(0, blocks)) {
    if (!Number.isFinite(d)) continue;
    if (d < scaleMin) scaleMin = d;
    if (d > scaleMax) scaleMax = d;
    const a = Math.abs(d);
    if (a >= t.zeroScale) {
      if (a < absMin) absMin = a;
      if (a > absMax) absMax = a;
    }
  }
  foldByteCounts(codec, byteCounts, codeCounts);
  const codesTotal = blocks * layout.blockSize;
  const lowCodes = codec.low.reduce((a, c) => a + (codeCounts[c] ?? 0), 0);
  return {
    type,
    totalBlocks,
    blocks,
    nonFiniteScales: nonFinite,
    hugeScales: huge,
    zeroScales: zero,
    degenerateBlocks: degenerate,
    repeatedBlocks: repeated,
    scaleMin: Number.isFinite(scaleMin) ? scaleMin : 0,
    scaleMax: Number.isFinite(scaleMax) ? scaleMax : 0,
    maxAbsScale: maxAbs,
    scaleEntropy: scaleHistogramEntropy(dValues.subarray(0, blocks)),
    scaleRatio: Number.isFinite(absMin) && absMin > 0 ? absMax / absMin : 0,
    codeEntropy: entropyOf(codeCounts, codesTotal),
    saturationLow: codesTotal > 0 ? lowCodes / codesTotal : 0,
    saturationHigh: codesTotal > 0 ? (codeCounts[codec.high] ?? 0) / codesTotal : 0,
  };
}

/**
 * The code-entropy floor of a type: gguf-guard's (2 bits), but at most half the code width, since
 * a 2-bit type's codes cannot hold 2 bits unless they are uniform.
 */
export function codeEntropyFloor(type: QuantisedWeightType, minCodeEntropyBits: number): number {
  const codes = DEQUANT_TYPES[type].block.codes;
  return Math.min(minCodeEntropyBits, Math.log2(codes) / 2);
}

/** gguf-guard's block findings (and ours, see the header) of one tensor's block statistics. */
export function quantBlockFindings(
  name: string,
  s: QuantBlockStats,
  thresholds: Partial<QuantBlockThresholds> = {},
): WeightFinding[] {
  const t = { ...DEFAULT_QUANT_BLOCK_THRESHOLDS, ...thresholds };
  const out: WeightFinding[] = [];
  const f = (code: WeightFinding['code'], severity: WeightSeverity, detail: string): void => {
    out.push({ tensor: name, code, severity, detail, layer: 'tensor' });
  };
  if (s.blocks === 0) return out;
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  if (s.nonFiniteScales > 0)
    f('quant_scale_nonfinite', 'critical', `${s.nonFiniteScales} blocks with a NaN/Inf scale`);
  if (s.hugeScales > 0)
    f(
      'quant_scale_huge',
      'critical',
      `${s.hugeScales} blocks with a scale above ${t.maxAbsScale} (max ${s.maxAbsScale.toPrecision(4)})`,
    );
  if (s.blocks > t.minBlocks && s.scaleEntropy < t.minScaleEntropyBits)
    f(
      'quant_low_scale_entropy',
      'warning',
      `scale entropy ${s.scaleEntropy.toFixed(2)} bits < ${t.minScaleEntropyBits}`,
    );
  if (s.scaleRatio > t.maxScaleRatio)
    f(
      'quant_scale_ratio',
      'warning',
      `max/min scale ratio ${s.scaleRatio.toExponential(2)} > ${t.maxScaleRatio}`,
    );
  const minCodeEntropy = codeEntropyFloor(s.type, t.minCodeEntropyBits);
  if (s.blocks > t.minBlocks && s.codeEntropy < minCodeEntropy)
    f(
      'quant_low_code_entropy',
      'warning',
      `code entropy ${s.codeEntropy.toFixed(2)} bits < ${minCodeEntropy}`,
    );
  if (s.saturationLow > t.maxSaturationFraction)
    f('quant_saturation_low', 'warning', `${pct(s.saturationLow)} of codes at the minimum`);
  if (s.saturationHigh > t.maxSaturationFraction)
    f('quant_saturation_high', 'warning', `${pct(s.saturationHigh)} of codes at the maximum`);
  const repeated = s.repeatedBlocks / s.blocks;
  if (repeated > t.maxRepeatedBlockFraction)
    f('quant_repeated_blocks', 'critical', `${pct(repeated)} of blocks repeat the previous one`);
  const zero = s.zeroScales / s.blocks;
  if (zero > t.maxZeroScaleFraction)
    f('quant_zero_scales', 'warning', `${pct(zero)} of blocks have a zero scale`);
  const degenerate = s.degenerateBlocks / s.blocks;
  if (degenerate > t.maxDegenerateBlockFraction)
    f('quant_degenerate_blocks', 'warning', `${pct(degenerate)} of blocks are constant`);
  return out;
}

export interface GuardScore {
  score: number;
  verdict: 'PASS' | 'WARN' | 'FAIL';
}

/** gguf-guard's score and verdict of a list of findings (see the header). */
export function scoreGuardFindings(
  findings: readonly WeightFinding[],
  t: Pick<WeightThresholds, 'weights' | 'failScore' | 'warnScore'> = DEFAULT_WEIGHT_THRESHOLDS,
): GuardScore {
  const scored = findings.filter((f) => !UNSCORED_WEIGHT_CODES.has(f.code));
  const w = (f: WeightFinding): number => t.weights[f.severity];
  const sum = (layer: WeightFinding['layer']): number =>
    Math.min(
      1,
      scored.filter((f) => f.layer === layer).reduce((a, f) => a + w(f), 0),
    );
  const affected = new Set(scored.map((f) => f.tensor)).size;
  const global = affected > 0 && scored.length / affected > 3 ? 0.2 : 0;
  const layered = 0.3 * sum('tensor') + 0.25 * sum('group') + 0.2 * global;
  const raw = Math.min(
    1,
    scored.reduce((a, f) => a + w(f), 0),
  );
  const score = Math.max(layered, raw);
  const critical = scored.some((f) => f.severity === 'critical');
  const verdict = critical || score > t.failScore ? 'FAIL' : score > t.warnScore ? 'WARN' : 'PASS';
  return { score, verdict };
}

export interface TensorWeightEntry {
  name: string;
  type: string;
  stats?: WeightStats;
  blocks?: QuantBlockStats;
  skipped?: string;
}

export interface WeightReport {
  tensors: TensorWeightEntry[];
  findings: WeightFinding[];
  score: number;
  verdict: 'PASS' | 'WARN' | 'FAIL';
  /** Tensors whose values were analysed. */
  tensorsAnalyzed: number;
  /** Tensors skipped (type not dequantised, or integer). */
  tensorsSkipped: number;
  /** The share of the parameters in types not dequantised. */
  coverage: WeightCoverage;
}
/** The first release's name of WeightReport. */
export type GgufWeightReport = WeightReport;

export interface WeightReportOptions {
  maxElements?: number;
  thresholds?: Partial<WeightThresholds>;
  quant?: Partial<QuantBlockThresholds>;
}
/** The first release's name of WeightReportOptions. */
export type GgufWeightReportOptions = WeightReportOptions;

type TensorRef = Pick<GgufTensorInfo, 'name' | 'type' | 'elements' | 'offset'>;

async function analyseTensors(
  path: string,
  dataOffset: number,
  refs: readonly TensorRef[],
  options: WeightReportOptions,
  t: WeightThresholds,
): Promise<{ tensors: TensorWeightEntry[]; findings: WeightFinding[] }> {
  const tensors: TensorWeightEntry[] = [];
  const findings: WeightFinding[] = [];
  const fh = await open(path, 'r');
  try {
    for (const tensor of refs) {
      if (isIntegerTensorType(tensor.type)) {
        tensors.push({ name: tensor.name, type: tensor.type, skipped: 'not a float tensor' });
        continue;
      }
      if (!isSupportedWeightType(tensor.type)) {
        tensors.push({ name: tensor.name, type: tensor.type, skipped: 'unsupported type' });
        findings.push({
          tensor: tensor.name,
          code: 'unsupported_type',
          severity: 'info',
          detail: `${tensor.type} is not dequantised (supported: ${SUPPORTED_WEIGHT_TYPES.join(', ')})`,
          layer: 'tensor',
        });
        continue;
      }
      try {
        const stats = await weightStatistics(path, tensor, {
          dataOffset,
          handle: fh,
          outlierSigma: t.outlierSigma,
          ...(options.maxElements !== undefined ? { maxElements: options.maxElements } : {}),
        });
        const entry: TensorWeightEntry = { name: tensor.name, type: tensor.type, stats };
        findings.push(...tensorFindings(tensor.name, stats, t));
        if (isQuantisedWeightType(tensor.type)) {
          const blocks = await quantBlockStatistics(path, tensor, {
            dataOffset,
            handle: fh,
            ...(options.quant !== undefined ? { thresholds: options.quant } : {}),
          });
          entry.blocks = blocks;
          findings.push(...quantBlockFindings(tensor.name, blocks, options.quant));
        }
        tensors.push(entry);
      } catch (err) {
        tensors.push({ name: tensor.name, type: tensor.type, skipped: 'read failed' });
        findings.push({
          tensor: tensor.name,
          code: 'read_failed',
          severity: 'critical',
          detail: (err as Error).message,
          layer: 'tensor',
        });
      }
    }
  } finally {
    await fh.close();
  }
  return { tensors, findings };
}

function finish(
  tensors: TensorWeightEntry[],
  findings: WeightFinding[],
  t: WeightThresholds,
  refs: readonly TensorRef[],
): WeightReport {
  const coverage = weightCoverage(refs);
  const all = [...findings, ...coverageFindings(coverage)];
  return {
    tensors,
    findings: all,
    ...scoreGuardFindings(all, t),
    tensorsAnalyzed: tensors.filter((e) => e.stats !== undefined).length,
    tensorsSkipped: tensors.filter((e) => e.stats === undefined).length,
    coverage,
  };
}

/**
 * Per-tensor statistics, quantisation-block checks and cross-layer check of every tensor of an
 * accepted GGUF, with gguf-guard's score.
 */
export async function ggufWeightReport(
  path: string,
  report: GgufAccepted,
  options: WeightReportOptions = {},
): Promise<WeightReport> {
  const t: WeightThresholds = { ...DEFAULT_WEIGHT_THRESHOLDS, ...options.thresholds };
  const { tensors, findings } = await analyseTensors(
    path,
    report.dataOffset,
    report.tensors,
    options,
    t,
  );

  // Cross-layer consistency: blk.N.<role> groups of ≥ 3 members.
  const groups = new Map<string, { name: string; mean: number }[]>();
  for (const e of tensors) {
    const m = /^(?:blk|layers)\.\d+\.(.+)$/.exec(e.name);
    if (m === null || e.stats === undefined || e.stats.count < t.minSamples) continue;
    const role = m[1] ?? '';
    const list = groups.get(role) ?? [];
    list.push({ name: e.name, mean: e.stats.mean });
    groups.set(role, list);
  }
  for (const [role, members] of groups) {
    if (members.length < 3) continue;
    for (const member of members) {
      const others = members.filter((o) => o !== member);
      const mu = others.reduce((a, o) => a + o.mean, 0) / others.length;
      const sd = Math.sqrt(others.reduce((a, o) => a + (o.mean - mu) ** 2, 0) / others.length);
      if (
        sd > 0 &&
        Math.abs(member.mean - mu) > t.groupSigma * sd &&
        Math.abs(member.mean - mu) > 1e-3
      ) {
        findings.push({
          tensor: member.name,
          code: 'group_mean_outlier',
          severity: 'warning',
          detail: `mean ${member.mean.toPrecision(4)} is > ${t.groupSigma}σ from the other ${role} tensors (${mu.toPrecision(4)} ± ${sd.toPrecision(2)})`,
          layer: 'group',
        });
      }
    }
  }
  return finish(tensors, findings, t, report.tensors);
}

/**
 * Per-tensor statistics of the F32/F16/BF16/F64 tensors of an accepted safetensors file, with the
 * tensor-local findings and gguf-guard's score (the reference analysed only the 20 largest F32/F16
 * tensors; every float tensor is analysed here, ≤ maxElements values each). Integer and boolean
 * tensors are skipped; F4/F6/F8 tensors are not analysed (`unsupported_type`, and counted in the
 * coverage). No cross-layer check: safetensors names have no common layer scheme.
 */
export async function safetensorsWeightReport(
  path: string,
  inspection: {
    readonly tensors: readonly SafetensorsTensor[];
    readonly headerLength: number;
  },
  options: WeightReportOptions = {},
): Promise<WeightReport> {
  const t: WeightThresholds = { ...DEFAULT_WEIGHT_THRESHOLDS, ...options.thresholds };
  // A valid file's tensors fit in it, so their element counts are far below 2^53.
  const refs: TensorRef[] = inspection.tensors.map((s) => ({
    name: s.name,
    type: s.dtype,
    elements: Number(s.elements),
    offset: s.begin,
  }));
  const { tensors, findings } = await analyseTensors(
    path,
    8 + inspection.headerLength,
    refs,
    options,
    t,
  );
  return finish(tensors, findings, t, refs);
}

/** Orders findings most severe first (critical, warning, info), stable otherwise. */
export function bySeverity(findings: readonly WeightFinding[]): WeightFinding[] {
  const rank: Record<WeightSeverity, number> = { critical: 0, warning: 1, info: 2 };
  return [...findings].sort((a, b) => rank[a.severity] - rank[b.severity]);
}
