// The dequantisers against ggml itself: fixtures/ggmlDequantGolden.json holds blocks of every type
// in DEQUANT_TYPES with the values ggml's own dequantize_row_* gives them (written by
// fixtures/ggmlDequantGolden.py through libggml-base, which node-llama-cpp ships). Two blocks per
// type are quantised from Gaussian weights by ggml's reference quantiser, two are random bytes
// (every code and scale bit pattern) with finite scales.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GGML_TYPES } from '@secai/formats';
import {
  DEQUANT_TYPES,
  isBlockQuantType,
  type DequantTypeName,
} from '../src/scan/dequant/index.js';
import { dequantizeBlocks } from '../src/scan/index.js';

interface Golden {
  types: Record<string, { blocks: string; values: string }>;
}
const golden = JSON.parse(
  readFileSync(new URL('./fixtures/ggmlDequantGolden.json', import.meta.url), 'utf8'),
) as Golden;

function floats(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

describe('dequantisation matches ggml (golden blocks from libggml-base)', () => {
  const quantised = Object.keys(DEQUANT_TYPES).filter(isBlockQuantType);

  it('covers every block-quantised type we read', () => {
    expect(Object.keys(golden.types).sort()).toEqual([...quantised].sort());
  });

  for (const type of quantised) {
    it(`${type}: every value as ggml's dequantize_row gives it`, () => {
      const g = golden.types[type];
      if (g === undefined) throw new Error(`no golden blocks for ${type}`);
      const { blockSize, typeSize } = DEQUANT_TYPES[type];
      const bytes = Buffer.from(g.blocks, 'base64');
      const expected = floats(g.values);
      expect(bytes.length).toBe(4 * typeSize);
      const x = dequantizeBlocks(type, bytes, 4);
      expect(x.length).toBe(expected.length);
      // ggml works in float32 (and may fuse multiply-adds), we in float64: allow one float32
      // rounding of the block's largest term.
      for (let blk = 0; blk < 4; blk++) {
        let scale = 0;
        for (let i = 0; i < blockSize; i++)
          scale = Math.max(scale, Math.abs(expected[blk * blockSize + i] ?? 0));
        const tolerance = scale * 2 ** -20 + 1e-30;
        for (let i = blk * blockSize; i < (blk + 1) * blockSize; i++) {
          const diff = Math.abs((x[i] ?? NaN) - (expected[i] ?? NaN));
          if (!(diff <= tolerance))
            expect.fail(
              `${type} block ${blk} element ${i % blockSize}: ${x[i]} vs ggml ${expected[i]}`,
            );
        }
      }
    });
  }

  it('block geometry agrees with the formats package (ggml.h / ggml-common.h)', () => {
    for (const [name, layout] of Object.entries(DEQUANT_TYPES)) {
      const info = [...GGML_TYPES.values()].find((t) => t.name === name);
      if (info === undefined) throw new Error(`${name} is not a ggml type`);
      expect({ name, blockSize: layout.blockSize, typeSize: layout.typeSize }).toEqual({
        name,
        blockSize: info.blockSize,
        typeSize: info.typeSize,
      });
    }
  });

  it('every type either dequantises or is named as not analysed', () => {
    const read = new Set<string>(Object.keys(DEQUANT_TYPES) as DequantTypeName[]);
    const notRead = [...GGML_TYPES.values()].map((t) => t.name).filter((n) => !read.has(n));
    expect(notRead.sort()).toEqual(
      [
        'I8',
        'I16',
        'I32',
        'I64',
        'IQ1_M',
        'IQ1_S',
        'IQ2_S',
        'IQ2_XS',
        'IQ2_XXS',
        'IQ3_S',
        'IQ3_XXS',
        'Q8_1',
        'Q8_K',
        'TQ1_0',
        'TQ2_0',
      ].sort(),
    );
  });
});
