// Weight fixtures shared by the in-process scan tests and the static scan int tests.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectGguf, type GgufAccepted } from '@secai/formats';
import { buildSafetensors, seededRandom, type FixtureTensor } from '@secai/formats/testing';
import { toHalf, writeTinyLlamaGguf } from '@secai/formats/testing';

/** Fixture files in the spec's temp directory (`dir()` is read when a file is made). */
export function fixtureFiles(dir: () => string) {
  return {
    put: async (name: string, bytes: Uint8Array): Promise<string> => {
      const p = join(dir(), name);
      await writeFile(p, bytes);
      return p;
    },
    /** A tiny llama GGUF (seed 3 unless told), with its accepted inspection report. */
    tiny: async (
      name: string,
      options: Parameters<typeof writeTinyLlamaGguf>[1] = {},
    ): Promise<{ path: string; report: GgufAccepted }> => {
      const path = join(dir(), name);
      await writeTinyLlamaGguf(path, { seed: 3, ...options });
      const report = await inspectGguf(path);
      if (!report.ok) throw new Error(`${report.reason}: ${report.detail}`);
      return { path, report };
    },
  };
}

/** Deterministic N(0, std²) samples (Box–Muller over a seeded generator). */
export function gaussian(n: number, std: number, seed: number): Float64Array {
  const r = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() || 1e-12;
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()) * std;
  }
  return out;
}

/** A safetensors file of sane float weights (N(0, 0.02²)), plus an int64 tensor. */
export function saneSafetensors(
  mutate?: (data: Buffer, layout: Map<string, number>) => void,
): Uint8Array {
  const tensors: FixtureTensor[] = [
    { name: 'model.layers.0.w', dtype: 'F32', shape: [32, 64] },
    { name: 'model.layers.0.b', dtype: 'F16', shape: [64] },
    { name: 'model.embed', dtype: 'BF16', shape: [16, 32] },
    { name: 'position_ids', dtype: 'I64', shape: [8] },
  ];
  const parts: Buffer[] = [];
  const layout = new Map<string, number>();
  let at = 0;
  let seed = 11;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const v = gaussian(n, 0.02, seed++);
    const width = t.dtype === 'F32' ? 4 : t.dtype === 'I64' ? 8 : 2;
    const b = Buffer.alloc(n * width);
    for (let i = 0; i < n; i++) {
      const x = v[i] ?? 0;
      if (t.dtype === 'F32') b.writeFloatLE(x, i * 4);
      else if (t.dtype === 'F16') b.writeUInt16LE(toHalf(x), i * 2);
      else if (t.dtype === 'BF16') {
        const f = Buffer.alloc(4);
        f.writeFloatLE(x);
        b.writeUInt16LE(f.readUInt16LE(2), i * 2);
      } else b.writeBigInt64LE(BigInt(i), i * 8);
    }
    layout.set(t.name, at);
    at += b.length;
    parts.push(b);
  }
  const data = Buffer.concat(parts);
  mutate?.(data, layout);
  return buildSafetensors(tensors, { format: 'pt' }, data);
}
