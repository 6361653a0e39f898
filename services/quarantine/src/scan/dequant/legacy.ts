// ggml's 32-element block types (ggml-common.h, dequantize_row_* of ggml-quants.c). In every one
// byte j of qs holds element j in its low nibble and element j + 16 in its high nibble; the 5-bit
// types keep element e's fifth bit in bit e of the little-endian u32 qh.
import { f16At, halfToFloat } from './half.js';
import type { BlockQuantType, CodesInto } from './types.js';

const lo = (b: Buffer, i: number): number => (b[i] ?? 0) & 0x0f;
const hi = (b: Buffer, i: number): number => (b[i] ?? 0) >>> 4;

/** The 32 5-bit codes of a Q5_0/Q5_1 block whose qh is at `qhAt` and qs at `qsAt`. */
function q5CodesInto(qhAt: number, qsAt: number): CodesInto {
  return (b, at, out) => {
    const qh = b.readUInt32LE(at + qhAt);
    for (let j = 0; j < 16; j++) {
      const v = b[at + qsAt + j] ?? 0;
      out[j] = (v & 0x0f) | (((qh >>> j) & 1) << 4);
      out[j + 16] = (v >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
    }
  };
}
const q5_0Codes = q5CodesInto(2, 6);
const q5_1Codes = q5CodesInto(4, 8);

/** Codes of the block being dequantised (decode does not nest). */
const scratch = new Uint8Array(32);

/** block_q8_0: f16 d, int8 qs[32]; x = d·q. */
export const Q8_0: BlockQuantType = {
  blockSize: 32,
  typeSize: 34,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    for (let j = 0; j < 32; j++) emit(d * b.readInt8(at + 2 + j));
  },
  block: { d: f16At(0), codes: 256, low: [0, 1], high: 255, packing: 'bytes', from: 2, count: 32 },
};

/** block_q4_0: f16 d, qs[16]; x = d·(q − 8). */
export const Q4_0: BlockQuantType = {
  blockSize: 32,
  typeSize: 18,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    for (let j = 0; j < 16; j++) emit(d * (lo(b, at + 2 + j) - 8));
    for (let j = 0; j < 16; j++) emit(d * (hi(b, at + 2 + j) - 8));
  },
  block: { d: f16At(0), codes: 16, low: [0], high: 15, packing: 'nibbles', from: 2, count: 16 },
};

/** block_q4_1: f16 d, f16 m, qs[16]; x = d·q + m. */
export const Q4_1: BlockQuantType = {
  blockSize: 32,
  typeSize: 20,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    const m = halfToFloat(b.readUInt16LE(at + 2));
    for (let j = 0; j < 16; j++) emit(d * lo(b, at + 4 + j) + m);
    for (let j = 0; j < 16; j++) emit(d * hi(b, at + 4 + j) + m);
  },
  block: {
    d: f16At(0),
    dmin: f16At(2),
    codes: 16,
    low: [0],
    high: 15,
    packing: 'nibbles',
    from: 4,
    count: 16,
  },
};

/** block_q5_0: f16 d, u32 qh, qs[16]; x = d·(q − 16) with 5-bit q. */
export const Q5_0: BlockQuantType = {
  blockSize: 32,
  typeSize: 22,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    q5_0Codes(b, at, scratch);
    for (let e = 0; e < 32; e++) emit(d * ((scratch[e] ?? 0) - 16));
  },
  block: {
    d: f16At(0),
    codes: 32,
    low: [0],
    high: 31,
    packing: 'planes',
    from: 2,
    count: 20,
    codesInto: q5_0Codes,
  },
};

/** block_q5_1: f16 d, f16 m, u32 qh, qs[16]; x = d·q + m with 5-bit q. */
export const Q5_1: BlockQuantType = {
  blockSize: 32,
  typeSize: 24,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    const m = halfToFloat(b.readUInt16LE(at + 2));
    q5_1Codes(b, at, scratch);
    for (let e = 0; e < 32; e++) emit(d * (scratch[e] ?? 0) + m);
  },
  block: {
    d: f16At(0),
    dmin: f16At(2),
    codes: 32,
    low: [0],
    high: 31,
    packing: 'planes',
    from: 4,
    count: 20,
    codesInto: q5_1Codes,
  },
};
