import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectGguf, type GgufAccepted } from '@secai/formats';
import {
  ggufWeightReport,
  sampleEntropy,
  shannonEntropy,
  weightStatistics,
} from '../src/scan/index.js';
import { seededBytes } from '@secai/formats/testing';
import { buildTinyLlamaGguf, writeTinyLlamaGguf } from '@secai/formats/testing';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-scan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

describe('sampleEntropy', () => {
  it('separates random, zero and text regions', async () => {
    const rnd = await put('rnd.bin', seededBytes(4 << 20, 5));
    const zero = await put('zero.bin', new Uint8Array(4 << 20));
    const text = await put(
      'text.txt',
      new TextEncoder().encode('the quick brown fox jumps over the lazy dog. '.repeat(100_000)),
    );
    const r = await sampleEntropy(rnd, { samples: 4, sampleBytes: 1 << 20 });
    expect(r.windows.map((w) => w.offset)).toEqual([0, 1 << 20, 2 << 20, 3 << 20]);
    expect(r.min).toBeGreaterThan(7.99);
    expect(r.flagged).toHaveLength(4);
    const z = await sampleEntropy(zero, { samples: 4 });
    expect(z.max).toBe(0);
    expect(z.flagged).toEqual([]);
    expect(z.windows.every((w) => w.lowEntropy)).toBe(true);
    const t = await sampleEntropy(text, { samples: 3 });
    expect(t.mean).toBeGreaterThan(3);
    expect(t.mean).toBeLessThan(5);
    expect(t.flagged).toEqual([]);
    // Only windows overlapping a declared weight region are flagged.
    const scoped = await sampleEntropy(rnd, {
      samples: 4,
      weightRegions: [{ start: 0, end: 100 }],
    });
    expect(scoped.flagged.map((w) => w.offset)).toEqual([0]);
    expect(shannonEntropy(new Uint8Array([0, 1, 2, 3]))).toBe(2);
  });
});

describe('weight statistics', () => {
  async function tiny(
    name: string,
    weightType: 'f32' | 'f16',
  ): Promise<{ path: string; report: GgufAccepted }> {
    const path = join(dir, name);
    await writeTinyLlamaGguf(path, { weightType, seed: 7 });
    const report = await inspectGguf(path);
    if (!report.ok) throw new Error(report.detail);
    return { path, report };
  }

  for (const weightType of ['f32', 'f16'] as const) {
    it(`matches the writer's distribution (${weightType}): N(0, 0.02²) matrices, N(1, 0.01²) norms`, async () => {
      const { path, report } = await tiny(`w-${weightType}.gguf`, weightType);
      const embd = report.tensors.find((t) => t.name === 'token_embd.weight');
      if (embd === undefined) throw new Error('missing');
      expect(embd.type).toBe(weightType.toUpperCase());
      const s = await weightStatistics(path, embd, { dataOffset: report.dataOffset });
      expect(s.count).toBe(embd.elements);
      expect(Math.abs(s.mean)).toBeLessThan(0.001);
      expect(Math.sqrt(s.variance)).toBeCloseTo(0.02, 3);
      expect(Math.abs(s.kurtosis)).toBeLessThan(0.2);
      expect(s.nanCount + s.infCount).toBe(0);
      const norm = report.tensors.find((t) => t.name === 'blk.0.attn_norm.weight');
      if (norm === undefined) throw new Error('missing');
      const n = await weightStatistics(path, norm, { dataOffset: report.dataOffset });
      expect(n.mean).toBeCloseTo(1, 2);
      expect(Math.sqrt(n.variance)).toBeGreaterThan(0.005);
      expect(Math.sqrt(n.variance)).toBeLessThan(0.015);
      const sampled = await weightStatistics(path, embd, {
        dataOffset: report.dataOffset,
        maxElements: 1000,
      });
      expect(sampled.count).toBe(1000);
      const all = await ggufWeightReport(path, report);
      expect(all.findings).toEqual([]);
      expect(all.verdict).toBe('PASS');
      expect(all.tensorsAnalyzed).toBe(report.tensors.length);
    });
  }

  it('flags NaN, Inf, zero-filled, constant and spiked tensors and scores them as gguf-guard', async () => {
    const { path, report } = await tiny('bad.gguf', 'f32');
    const buf = buildTinyLlamaGguf({ seed: 7 }).buffer;
    const at = (name: string): { start: number; bytes: number } => {
      const t = report.tensors.find((x) => x.name === name);
      if (t === undefined) throw new Error(name);
      return { start: report.dataOffset + t.offset, bytes: t.sizeBytes };
    };
    const q = at('blk.0.attn_q.weight');
    buf.writeFloatLE(Number.NaN, q.start + 40);
    const k = at('blk.0.attn_k.weight');
    buf.writeFloatLE(Number.POSITIVE_INFINITY, k.start);
    const v = at('blk.0.attn_v.weight');
    buf.fill(0, v.start, v.start + v.bytes);
    const o = at('blk.1.attn_output.weight');
    for (let i = 0; i < o.bytes; i += 4) buf.writeFloatLE(0.5, o.start + i);
    const up = at('blk.1.ffn_up.weight');
    buf.writeFloatLE(50, up.start + 400); // one huge outlier: a "trojan patch"
    await writeFile(path, buf);
    const r = await ggufWeightReport(path, report);
    const codes = r.findings.map((f) => `${f.tensor}:${f.code}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        'blk.0.attn_q.weight:nan_values',
        'blk.0.attn_k.weight:inf_values',
        'blk.0.attn_v.weight:mostly_zero',
        'blk.1.attn_output.weight:constant_tensor',
        'blk.1.ffn_up.weight:extreme_kurtosis',
      ]),
    );
    expect(r.verdict).toBe('FAIL');
    expect(r.score).toBeGreaterThan(0.5);
    expect(r.score).toBeLessThanOrEqual(1);
  });
});
