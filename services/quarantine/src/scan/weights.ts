// Weight statistics and the gguf-guard tensor checks (issue 4 §3.5, reference §2.5 item 7, §2.6.3,
// §2.6.4). Supported types: F32, F16, BF16 and dequantised Q8_0, Q4_0, Q4_K, Q6_K (ggml's reference
// dequantisation). Other types are reported as `unsupported_type` (info) and skipped.
//
// Memory is bounded: data is read in chunks of whole blocks (≤ 1 MiB) and moments are accumulated
// online (Terriberry's extension of Welford to M2..M4). At most `maxElements` values (default
// 1,000,000, as gguf-guard) are read per tensor, as 64 evenly spread block-aligned windows over the
// whole tensor when it is larger; NaN/Inf/zero counts refer to the values read.
//
// Findings and scores follow gguf-guard 0.2.0's tensor-local checks and its cross-layer group check
// (tensors `blk.N.<role>`, groups of ≥ 3, a member's mean > 5σ from the group): NaN, Inf and
// kurtosis > 100 are critical; |mean| > 10, variance < 1e-12 with zero fraction < 0.99, zero
// fraction > 0.99 and the group outlier are warnings. Severity weights critical 0.30, warning 0.10,
// info 0.02; score = max(layered, min(1, raw sum)) with layered = 0.30·tensor-local +
// 0.25·role-group + 0.20·model-global (0.2 when anomalies per affected tensor > 3) (+ 0.25·reference
// profile, which neither the reference nor we use). Verdict FAIL on any critical or score > 0.5,
// WARN when score > 0.2, else PASS. Not implemented: the > 10 % beyond 3σ check (needs a second
// pass), the quantisation-block entropy checks and the structural name checks (inspectGguf covers
// the structural bounds).
import { open, type FileHandle } from 'node:fs/promises';
import type { GgufAccepted, GgufTensorInfo } from '../formats/gguf/types.js';

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

export interface WeightStatsOptions {
  /** Absolute offset of the tensor data section (GgufAccepted.dataOffset). */
  dataOffset: number;
  /** Values read per tensor (default 1,000,000). Infinity reads every value. */
  maxElements?: number;
}

export interface WeightThresholds {
  maxAbsMean: number;
  minVariance: number;
  maxKurtosis: number;
  maxZeroFraction: number;
  minSamples: number;
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
  groupSigma: 5,
  weights: { critical: 0.3, warning: 0.1, info: 0.02 },
  failScore: 0.5,
  warnScore: 0.2,
});

const half = (h: number): number => {
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

interface TypeLayout {
  blockSize: number;
  typeSize: number;
  /** Dequantises one block starting at `at` in `b`, calling `emit` for each value. */
  decode: (b: Buffer, at: number, emit: (x: number) => void) => void;
}

const LAYOUTS: Record<(typeof SUPPORTED_WEIGHT_TYPES)[number], TypeLayout> = {
  F32: { blockSize: 1, typeSize: 4, decode: (b, at, emit) => emit(b.readFloatLE(at)) },
  F16: { blockSize: 1, typeSize: 2, decode: (b, at, emit) => emit(half(b.readUInt16LE(at))) },
  BF16: { blockSize: 1, typeSize: 2, decode: (b, at, emit) => emit(bf16(b.readUInt16LE(at))) },
  Q8_0: {
    blockSize: 32,
    typeSize: 34,
    decode: (b, at, emit) => {
      const d = half(b.readUInt16LE(at));
      for (let j = 0; j < 32; j++) emit(d * b.readInt8(at + 2 + j));
    },
  },
  Q4_0: {
    blockSize: 32,
    typeSize: 18,
    decode: (b, at, emit) => {
      const d = half(b.readUInt16LE(at));
      for (let j = 0; j < 16; j++) emit(d * (((b[at + 2 + j] ?? 0) & 0x0f) - 8));
      for (let j = 0; j < 16; j++) emit(d * (((b[at + 2 + j] ?? 0) >>> 4) - 8));
    },
  },
  Q4_K: {
    blockSize: 256,
    typeSize: 144,
    decode: (b, at, emit) => {
      const d = half(b.readUInt16LE(at));
      const dmin = half(b.readUInt16LE(at + 2));
      const sc = (k: number): number => b[at + 4 + k] ?? 0;
      const scaleMin = (j: number): [number, number] =>
        j < 4
          ? [sc(j) & 63, sc(j + 4) & 63]
          : [
              (sc(j + 4) & 0xf) | ((sc(j - 4) >>> 6) << 4),
              (sc(j + 4) >>> 4) | ((sc(j) >>> 6) << 4),
            ];
      let q = at + 16;
      for (let is = 0; is < 8; is += 2) {
        const [s1, m1] = scaleMin(is);
        const [s2, m2] = scaleMin(is + 1);
        for (let l = 0; l < 32; l++) emit(d * s1 * ((b[q + l] ?? 0) & 0xf) - dmin * m1);
        for (let l = 0; l < 32; l++) emit(d * s2 * ((b[q + l] ?? 0) >>> 4) - dmin * m2);
        q += 32;
      }
    },
  },
  Q6_K: {
    blockSize: 256,
    typeSize: 210,
    decode: (b, at, emit) => {
      const d = half(b.readUInt16LE(at + 208));
      const out = new Float64Array(256);
      let ql = at;
      let qh = at + 128;
      let sc = at + 192;
      for (let n = 0; n < 256; n += 128) {
        for (let l = 0; l < 32; l++) {
          const is = l >>> 4;
          const L = (k: number): number => b[ql + k] ?? 0;
          const H = b[qh + l] ?? 0;
          const S = (k: number): number => b.readInt8(sc + k);
          out[n + l] = d * S(is) * (((L(l) & 0xf) | (((H >>> 0) & 3) << 4)) - 32);
          out[n + l + 32] = d * S(is + 2) * (((L(l + 32) & 0xf) | (((H >>> 2) & 3) << 4)) - 32);
          out[n + l + 64] = d * S(is + 4) * (((L(l) >>> 4) | (((H >>> 4) & 3) << 4)) - 32);
          out[n + l + 96] = d * S(is + 6) * (((L(l + 32) >>> 4) | (((H >>> 6) & 3) << 4)) - 32);
        }
        ql += 64;
        qh += 32;
        sc += 8;
      }
      for (const x of out) emit(x);
    },
  },
};

export function isSupportedWeightType(
  type: string,
): type is (typeof SUPPORTED_WEIGHT_TYPES)[number] {
  return (SUPPORTED_WEIGHT_TYPES as readonly string[]).includes(type);
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

async function readFully(
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
 * Streams one tensor's data (from inspectGguf) and computes its statistics. Throws for an
 * unsupported type or an I/O error (ggufWeightReport turns both into findings).
 */
export async function weightStatistics(
  path: string,
  tensor: GgufTensorInfo,
  options: WeightStatsOptions,
): Promise<WeightStats> {
  if (!isSupportedWeightType(tensor.type))
    throw new Error(`unsupported tensor type ${tensor.type}`);
  const layout = LAYOUTS[tensor.type];
  const maxElements = options.maxElements ?? 1_000_000;
  const totalBlocks = Math.floor(tensor.elements / layout.blockSize);
  const blocksWanted = Math.min(
    totalBlocks,
    Math.max(1, Math.ceil(maxElements / layout.blockSize)),
  );
  // Windows: [startBlock, blockCount].
  const windows: [number, number][] = [];
  if (blocksWanted >= totalBlocks) windows.push([0, totalBlocks]);
  else {
    const nWin = Math.min(64, blocksWanted);
    const per = Math.floor(blocksWanted / nWin);
    const extra = blocksWanted - per * nWin;
    for (let w = 0; w < nWin; w++) {
      const count = per + (w < extra ? 1 : 0);
      const start = Math.floor(((totalBlocks - count) * w) / Math.max(1, nWin - 1));
      windows.push([start, count]);
    }
  }
  const chunkBlocks = Math.max(1, Math.floor((1024 * 1024) / layout.typeSize));
  const buf = Buffer.alloc(chunkBlocks * layout.typeSize);
  const m = new Moments();
  const emit = (x: number): void => m.push(x);
  const base = options.dataOffset + tensor.offset;
  const fh = await open(path, 'r');
  try {
    for (const [start, count] of windows) {
      for (let blk = start; blk < start + count; blk += chunkBlocks) {
        const n = Math.min(chunkBlocks, start + count - blk);
        await readFully(fh, buf, n * layout.typeSize, base + blk * layout.typeSize);
        for (let i = 0; i < n; i++) layout.decode(buf, i * layout.typeSize, emit);
      }
    }
  } finally {
    await fh.close();
  }
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
  | 'group_mean_outlier'
  | 'unsupported_type'
  | 'too_few_samples'
  | 'read_failed';

export interface WeightFinding {
  tensor: string;
  code: WeightFindingCode;
  severity: WeightSeverity;
  detail: string;
  layer: 'tensor' | 'group' | 'global';
}

export interface TensorWeightEntry {
  name: string;
  type: string;
  stats?: WeightStats;
  skipped?: string;
}

export interface GgufWeightReport {
  tensors: TensorWeightEntry[];
  findings: WeightFinding[];
  score: number;
  verdict: 'PASS' | 'WARN' | 'FAIL';
  tensorsAnalyzed: number;
}

export interface GgufWeightReportOptions {
  maxElements?: number;
  thresholds?: Partial<WeightThresholds>;
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
  return out;
}

/** Per-tensor statistics of every tensor of an accepted GGUF, anomaly findings and the gguf-guard score. */
export async function ggufWeightReport(
  path: string,
  report: GgufAccepted,
  options: GgufWeightReportOptions = {},
): Promise<GgufWeightReport> {
  const t: WeightThresholds = { ...DEFAULT_WEIGHT_THRESHOLDS, ...options.thresholds };
  const tensors: TensorWeightEntry[] = [];
  const findings: WeightFinding[] = [];
  for (const tensor of report.tensors) {
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
        dataOffset: report.dataOffset,
        ...(options.maxElements !== undefined ? { maxElements: options.maxElements } : {}),
      });
      tensors.push({ name: tensor.name, type: tensor.type, stats });
      findings.push(...tensorFindings(tensor.name, stats, t));
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

  const w = (f: WeightFinding): number => t.weights[f.severity];
  const sum = (layer: WeightFinding['layer']): number =>
    Math.min(
      1,
      findings.filter((f) => f.layer === layer).reduce((a, f) => a + w(f), 0),
    );
  const counted = findings.filter((f) => f.code !== 'unsupported_type');
  const affected = new Set(counted.map((f) => f.tensor)).size;
  const global = affected > 0 && counted.length / affected > 3 ? 0.2 : 0;
  const layered = 0.3 * sum('tensor') + 0.25 * sum('group') + 0.2 * global;
  const raw = Math.min(
    1,
    findings.reduce((a, f) => a + w(f), 0),
  );
  const score = Math.max(layered, raw);
  const critical = findings.some((f) => f.severity === 'critical');
  const verdict = critical || score > t.failScore ? 'FAIL' : score > t.warnScore ? 'WARN' : 'PASS';
  return {
    tensors,
    findings,
    score,
    verdict,
    tensorsAnalyzed: tensors.filter((e) => e.stats !== undefined).length,
  };
}
