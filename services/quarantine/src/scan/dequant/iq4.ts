// ggml's non-linear 4-bit types (ggml-common.h, dequantize_row_iq4_{nl,xs} of ggml-quants.c): a
// 4-bit code indexes the 16-entry codebook `kvalues_iq4nl` (a fixed non-uniform grid, denser near
// zero) instead of being used as an integer. Byte j of a 16-byte run holds element j in its low
// nibble and element j + 16 in its high nibble, as in Q4_0.
import { f16At, halfToFloat } from './half.js';
import type { BlockQuantType } from './types.js';

/** ggml's `kvalues_iq4nl`. */
export const KVALUES_IQ4NL: readonly number[] = Object.freeze([
  -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
]);

const kv = (code: number): number => KVALUES_IQ4NL[code] ?? 0;

/** Emits the 32 values of one 16-byte run of codes scaled by `dl`. */
function emitRun(b: Buffer, qs: number, dl: number, emit: (x: number) => void): void {
  for (let j = 0; j < 16; j++) emit(dl * kv((b[qs + j] ?? 0) & 0x0f));
  for (let j = 0; j < 16; j++) emit(dl * kv((b[qs + j] ?? 0) >>> 4));
}

/**
 * IQ4_XS's 6-bit scale of sub-block ib (0..7), offset by 32: low nibble ib mod 2 of
 * scales_l[ib/2], top two bits at bit 2·ib of the u16 scales_h.
 */
export function iq4xsScale(b: Buffer, at: number, ib: number): number {
  const low = ((b[at + 4 + (ib >>> 1)] ?? 0) >>> (4 * (ib & 1))) & 0xf;
  const high = (b.readUInt16LE(at + 2) >>> (2 * ib)) & 3;
  return (low | (high << 4)) - 32;
}

/** block_iq4_nl: f16 d, qs[16]; x = d·kvalues[q]. */
export const IQ4_NL: BlockQuantType = {
  blockSize: 32,
  typeSize: 18,
  decode: (b, at, emit) => emitRun(b, at + 2, halfToFloat(b.readUInt16LE(at)), emit),
  block: { d: f16At(0), codes: 16, low: [0], high: 15, packing: 'nibbles', from: 2, count: 16 },
};

/**
 * block_iq4_xs: f16 d, u16 scales_h, scales_l[4], qs[128]; 8 sub-blocks of 32, sub-block ib
 * x = d·(ls − 32)·kvalues[q] with ls from `iq4xsScale`.
 */
export const IQ4_XS: BlockQuantType = {
  blockSize: 256,
  typeSize: 136,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    for (let ib = 0; ib < 8; ib++) emitRun(b, at + 8 + 16 * ib, d * iq4xsScale(b, at, ib), emit);
  },
  block: { d: f16At(0), codes: 16, low: [0], high: 15, packing: 'nibbles', from: 8, count: 128 },
};
