// The quantisation types added for issue 11 §5 (Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q5_K, IQ4_NL,
// IQ4_XS), end to end: the test writer quantises seeded weights into each (ggufQuantisers.ts in
// @secai/formats/testing), the dequantisers read them back within the type's own error, llama.cpp
// reads the same files as the same network, the statistics of a tiny GGUF of each type match the
// F32 model's, a planted NaN scale is critical, and the block checks read every code. That the
// dequantisers are ggml's to the bit is weightsDequant.unit.spec.ts; IQ2_XXS, which we do not
// read, is weightsCoverage.unit.spec.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GGUF_WEIGHT_ATTACKS,
  QUANT_BLOCKS,
  quantizeRow,
  type GgufWeightAttack,
} from '@secai/formats/testing';
import { DEQUANT_TYPES } from '../src/scan/dequant/index.js';
import { dequantizeBlocks, ggufWeightReport, quantBlockStatistics } from '../src/scan/index.js';
import { fixtureFiles, gaussian } from './weightFixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-weight-types-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const { put, tiny } = fixtureFiles(() => dir);

const NEW_TYPES = ['Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q5_K', 'IQ4_NL', 'IQ4_XS'] as const;
type NewType = (typeof NEW_TYPES)[number];
const lower = (t: NewType) => t.toLowerCase() as Lowercase<NewType>;

/**
 * Largest |x̂ − x| of one element, as a fraction of its block's max |x| (a), from each type's step:
 * Q4_1 half of (max − min)/15 ≤ a/15; Q5_0 one step a/16 (the clamped top code); Q5_1 a/31; Q2_K
 * half of a sub-block's (max − min)/3 ≤ a/3 plus the 4-bit rounding of its scale and min; Q3_K one
 * step a/4 (the clamped top code) plus the 6-bit scale's rounding; Q5_K a/31 plus its scale and
 * min's; IQ4_NL 14/127·a (the codebook's widest half-gap, 113 to 127); IQ4_XS that plus a/64 for
 * its 6-bit scales. Each with a little room for the f16 rounding of d and m.
 */
const MAX_ERROR: Record<NewType, number> = {
  Q4_1: 0.07,
  Q5_0: 0.065,
  Q5_1: 0.035,
  Q2_K: 0.45,
  Q3_K: 0.3,
  Q5_K: 0.06,
  IQ4_NL: 0.115,
  IQ4_XS: 0.13,
};

/** Root-mean-square error over the signal's, Gaussian weights (measured ≈ 0.8 of these). */
const MAX_REL_RMS: Record<NewType, number> = {
  Q4_1: 0.1,
  Q5_0: 0.055,
  Q5_1: 0.05,
  Q2_K: 0.4,
  Q3_K: 0.2,
  Q5_K: 0.05,
  IQ4_NL: 0.1,
  IQ4_XS: 0.1,
};

describe('quantise, then dequantise (seeded Gaussian weights)', () => {
  for (const type of NEW_TYPES) {
    it(`${type}: every value within the type's error, and the error as small as the type allows`, () => {
      const { blockSize, typeSize } = QUANT_BLOCKS[type];
      expect({ blockSize, typeSize }).toEqual({
        blockSize: DEQUANT_TYPES[type].blockSize,
        typeSize: DEQUANT_TYPES[type].typeSize,
      });
      const v = gaussian(8192, 0.02, 21);
      const blocks = v.length / blockSize;
      const q = quantizeRow(type, v);
      expect(q.length).toBe(blocks * typeSize);
      const x = dequantizeBlocks(type, q, blocks);
      let err = 0;
      let energy = 0;
      for (let b = 0; b < blocks; b++) {
        let amax = 0;
        for (let i = b * blockSize; i < (b + 1) * blockSize; i++)
          amax = Math.max(amax, Math.abs(v[i] ?? 0));
        for (let i = b * blockSize; i < (b + 1) * blockSize; i++) {
          const e = Math.abs((x[i] ?? NaN) - (v[i] ?? 0));
          if (!(e <= MAX_ERROR[type] * amax))
            expect.fail(`${type} element ${i}: ${x[i]} for ${v[i]} (block max ${amax})`);
          err += e * e;
          energy += (v[i] ?? 0) ** 2;
        }
      }
      expect(Math.sqrt(err / energy)).toBeLessThan(MAX_REL_RMS[type]);
    });
  }
});

describe('tiny GGUF models of each type', () => {
  const sizes = { nEmbd: 256, nFf: 512, seed: 9 };

  for (const type of NEW_TYPES) {
    it(`${type}: clean, every tensor read, statistics as the F32 model's of the same weights`, async () => {
      const f32 = await tiny(`f32-${type}.gguf`, sizes);
      const q = await tiny(`${type}.gguf`, { ...sizes, weightType: lower(type) });
      const ref = await ggufWeightReport(f32.path, f32.report);
      const r = await ggufWeightReport(q.path, q.report);
      expect(r.findings).toEqual([]);
      expect(r.verdict).toBe('PASS');
      expect(r.tensorsAnalyzed).toBe(q.report.tensors.length);
      expect(r.coverage).toMatchObject({ notAnalysed: 0, fraction: 0, types: [] });
      const matrices = r.tensors.filter((t) => t.type === type);
      expect(matrices.length).toBe(q.report.tensors.length - 5); // all but the 5 norms
      for (const t of matrices) {
        const s = t.stats;
        const f = ref.tensors.find((e) => e.name === t.name)?.stats;
        if (s === undefined || f === undefined) throw new Error(`${t.name} not read`);
        expect(t.blocks?.blocks, t.name).toBe(s.count / QUANT_BLOCKS[type].blockSize);
        expect(s.count, t.name).toBe(f.count);
        expect(s.nanCount + s.infCount, t.name).toBe(0);
        // Quantisation adds its error's variance (≤ MAX_REL_RMS²) and barely moves the mean.
        expect(Math.abs(s.mean - f.mean), t.name).toBeLessThan(5e-4);
        const ratio = s.variance / f.variance;
        expect(ratio, t.name).toBeGreaterThan(0.95);
        expect(ratio, t.name).toBeLessThan(1 + MAX_REL_RMS[type] ** 2 + 0.05);
      }
    });
  }
});

/** Findings each attack must produce in the attacked tensor (as for the first four types). */
const ATTACK_FINDINGS: Record<GgufWeightAttack, string[]> = {
  nan_scale: ['quant_scale_nonfinite', 'nan_values'],
  zeroed_blocks: ['quant_repeated_blocks', 'quant_zero_scales', 'quant_degenerate_blocks'],
  giant_scale: ['quant_scale_huge', 'extreme_kurtosis'],
  constant_weights: ['quant_repeated_blocks', 'constant_tensor', 'quant_low_code_entropy'],
};

describe('planted block attacks', () => {
  for (const type of NEW_TYPES) {
    for (const attack of GGUF_WEIGHT_ATTACKS) {
      it(`${type}: ${attack} is found in the attacked tensor only`, async () => {
        const { path, report } = await tiny(`${attack}-${type}.gguf`, {
          weightType: lower(type),
          weightAttack: attack,
        });
        const r = await ggufWeightReport(path, report);
        const hit = r.findings.filter((f) => f.tensor === 'blk.0.attn_q.weight');
        expect(hit.map((f) => f.code)).toEqual(expect.arrayContaining(ATTACK_FINDINGS[attack]));
        expect(r.findings.every((f) => f.tensor === 'blk.0.attn_q.weight')).toBe(true);
        expect(r.verdict).toBe('FAIL');
        if (attack === 'nan_scale') {
          // The NaN sits in one block's f16 d: critical both as values and as a scale.
          for (const code of ['nan_values', 'quant_scale_nonfinite'])
            expect(hit.find((f) => f.code === code)?.severity, code).toBe('critical');
        }
      });
    }
  }
});

/**
 * How to give a block unit scales, so that each value is its code minus `offset`: then the codes
 * the block checks read must be the dequantised values plus `offset`.
 */
const UNIT_SCALES: Partial<Record<string, { offset: number; set: (b: Buffer) => void }>> = {
  Q5_0: { offset: 16, set: (b) => b.writeUInt16LE(0x3c00, 0) },
  Q5_1: { offset: 0, set: (b) => b.writeUInt32LE(0x3c00, 0) },
  Q2_K: {
    offset: 0,
    set: (b) => {
      b.fill(0x01, 0, 16);
      b.writeUInt32LE(0x3c00, 80);
    },
  },
  Q3_K: {
    offset: 4,
    set: (b) => {
      b.fill(0x11, 96, 104); // every scale's low nibble 1 ...
      b.fill(0xaa, 104, 108); // ... and top bits 2: stored 33, i.e. 1
      b.writeUInt16LE(0x3c00, 108);
    },
  },
  Q5_K: {
    offset: 0,
    set: (b) => {
      b.writeUInt32LE(0x3c00, 0);
      b.fill(0x01, 4, 8);
      b.fill(0x00, 8, 12);
      b.fill(0x01, 12, 16);
    },
  },
  Q6_K: {
    offset: 32,
    set: (b) => {
      b.fill(0x01, 192, 208);
      b.writeUInt16LE(0x3c00, 208);
    },
  },
};

describe('the block checks read every code where ggml stores it', () => {
  const spread = Object.entries(DEQUANT_TYPES).filter(([, t]) => t.block?.codesInto !== undefined);
  /** `blocks` seeded random blocks of `type` with unit scales. */
  const randomBlocks = (name: string, blocks: number): Buffer => {
    const { typeSize } = DEQUANT_TYPES[name as keyof typeof DEQUANT_TYPES];
    const b = Buffer.from(gaussian(blocks * typeSize, 1, 33).map((g) => Math.abs(g * 1e4) % 256));
    for (let k = 0; k < blocks; k++) {
      const one = b.subarray(k * typeSize, (k + 1) * typeSize);
      UNIT_SCALES[name]?.set(one);
    }
    return b;
  };

  it('covers every type whose codes are spread over bit planes', () => {
    expect(spread.map(([n]) => n).sort()).toEqual(Object.keys(UNIT_SCALES).sort());
  });

  for (const [name, type] of spread) {
    it(`${name}: the codes gathered are the codes the values are made of`, () => {
      const unit = UNIT_SCALES[name];
      if (unit === undefined) throw new Error(name);
      const b = randomBlocks(name, 1);
      const codes = new Uint8Array(type.blockSize);
      type.block?.codesInto?.(b, 0, codes);
      const values = [...dequantizeBlocks(name as keyof typeof DEQUANT_TYPES, b)].map(
        (x) => x + unit.offset,
      );
      // Element by element: the values are in element order, and so are the codes.
      expect([...codes]).toEqual(values);
      expect(Math.max(...codes)).toBeLessThan(type.block?.codes ?? 0);
    });

    it(`${name}: the block statistics count exactly those codes`, async () => {
      const blocks = 24;
      const b = randomBlocks(name, blocks);
      const histogram = new Float64Array(type.block?.codes ?? 0);
      const codes = new Uint8Array(type.blockSize);
      for (let k = 0; k < blocks; k++) {
        type.block?.codesInto?.(b, k * type.typeSize, codes);
        for (const q of codes) histogram[q] = (histogram[q] ?? 0) + 1;
      }
      const total = blocks * type.blockSize;
      let entropy = 0;
      for (const c of histogram) if (c > 0) entropy -= (c / total) * Math.log2(c / total);
      const s = await quantBlockStatistics(
        await put(`codes-${name}.bin`, b),
        { name: 'x', type: name, elements: total, offset: 0 },
        { dataOffset: 0 },
      );
      expect(s.codeEntropy).toBeCloseTo(entropy, 12);
      expect(s.saturationLow).toBeCloseTo((histogram[0] ?? 0) / total, 12);
      expect(s.saturationHigh).toBeCloseTo((histogram[histogram.length - 1] ?? 0) / total, 12);
      expect(s.degenerateBlocks).toBe(0);
    });
  }

  it('a block whose codes are all equal is degenerate, in every packing', async () => {
    for (const [name, type] of Object.entries(DEQUANT_TYPES)) {
      if (type.block === undefined) continue;
      // Every byte 0xff but the code bytes (`from`, `count`), which are 0: all codes equal.
      const { from, count } = type.block;
      const b = Buffer.alloc(type.typeSize * 4, 0xff);
      for (let k = 0; k < 4; k++)
        b.fill(0, k * type.typeSize + from, k * type.typeSize + from + count);
      const s = await quantBlockStatistics(
        await put(`flat-${name}.bin`, b),
        { name: 'x', type: name, elements: 4 * type.blockSize, offset: 0 },
        { dataOffset: 0 },
      );
      expect(s.degenerateBlocks, name).toBe(4);
    }
  });
});

describe('llama.cpp reads the writer’s files as the same network', () => {
  it('embedding cosine against the F32 model of the same seed', async () => {
    // A layout the writer and the dequantisers got wrong the same way would still round-trip:
    // llama.cpp computing the same network from the file is the independent check. Q2_K and Q3_K
    // lose more (2 and 3 bits), hence their lower floors; another seed gives |cos| ≈ 0.
    const floors: Record<NewType, number> = {
      Q4_1: 0.95,
      Q5_0: 0.95,
      Q5_1: 0.95,
      Q2_K: 0.7,
      Q3_K: 0.85,
      Q5_K: 0.95,
      IQ4_NL: 0.95,
      IQ4_XS: 0.95,
    };
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
    const sizes = { nEmbd: 256, nFf: 512 };
    try {
      const ref = await embed((await tiny('llama-ref.gguf', { seed: 5, ...sizes })).path);
      for (const type of NEW_TYPES) {
        const q = await tiny(`llama-${type}.gguf`, { seed: 5, ...sizes, weightType: lower(type) });
        expect(cos(ref, await embed(q.path)), type).toBeGreaterThan(floors[type]);
      }
      const other = await tiny('llama-other.gguf', { seed: 6, ...sizes });
      expect(Math.abs(cos(ref, await embed(other.path)))).toBeLessThan(0.5);
    } finally {
      await llama.dispose();
    }
  }, 120_000);
});
