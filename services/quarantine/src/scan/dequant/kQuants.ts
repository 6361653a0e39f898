// ggml's K-quants: 256-element super-blocks of 16 or 8 sub-blocks with their own quantised scales
// (ggml-common.h, dequantize_row_q{2..6}_K of ggml-quants.c). Each type's `codesInto` gathers the
// codes of a block from where ggml stores them, and its `decode` applies the scales to those codes,
// so the block checks and the values read the same codes. Q2_K, Q3_K and Q6_K lay their codes out
// in two halves of 128: in half n, byte l of a 32-byte run holds, in bit pair (or nibble) j,
// element 128n + 32j + l.
import { f16At, halfToFloat } from './half.js';
import type { BlockQuantType, CodesInto } from './types.js';

const byte = (b: Buffer, i: number): number => b[i] ?? 0;

/** Codes of the block being dequantised (decode does not nest). */
const scratch = new Uint8Array(256);

/** The 6-bit scale and min of sub-block j (0..7) packed in 12 bytes (ggml `get_scale_min_k4`). */
export function q4kScaleMin(scales: (k: number) => number, j: number): [number, number] {
  return j < 4
    ? [scales(j) & 63, scales(j + 4) & 63]
    : [
        (scales(j + 4) & 0xf) | ((scales(j - 4) >>> 6) << 4),
        (scales(j + 4) >>> 4) | ((scales(j) >>> 6) << 4),
      ];
}

/**
 * Q3_K's signed scale of sub-block j (0..15): 12 bytes hold the low nibbles of the 16 6-bit
 * scales in bytes 0..7 (scales 0..7 low, 8..15 high nibble) and their top two bits in bytes 8..11
 * (scale j in bits 2·⌊j/4⌋ of byte 8 + j mod 4); the stored value is offset by 32.
 */
export function q3kScale(b: Buffer, scalesAt: number, j: number): number {
  const low = j < 8 ? byte(b, scalesAt + j) & 0xf : byte(b, scalesAt + j - 8) >>> 4;
  const high = (byte(b, scalesAt + 8 + (j & 3)) >>> (2 * (j >>> 2))) & 3;
  return (low | (high << 4)) - 32;
}

/** Q2_K: 2-bit codes in qs[64] at 16, bit pair j of byte 32n + l is element 128n + 32j + l. */
const q2kCodes: CodesInto = (b, at, out) => {
  for (let n = 0; n < 2; n++) {
    for (let l = 0; l < 32; l++) {
      const v = byte(b, at + 16 + 32 * n + l);
      const e = 128 * n + l;
      out[e] = v & 3;
      out[e + 32] = (v >>> 2) & 3;
      out[e + 64] = (v >>> 4) & 3;
      out[e + 96] = v >>> 6;
    }
  }
};

/**
 * Q3_K: the low two bits as Q2_K's (qs[64] at 32), the third from hmask[32] at 0, where element e
 * is bit e/32 of byte e mod 32. Code = the signed value + 4 (0..7): ggml subtracts 4 when the
 * hmask bit is clear.
 */
const q3kCodes: CodesInto = (b, at, out) => {
  for (let n = 0; n < 2; n++) {
    for (let l = 0; l < 32; l++) {
      const v = byte(b, at + 32 + 32 * n + l);
      const h = byte(b, at + l) >>> (4 * n);
      const e = 128 * n + l;
      out[e] = (v & 3) | ((h & 1) << 2);
      out[e + 32] = ((v >>> 2) & 3) | (((h >>> 1) & 1) << 2);
      out[e + 64] = ((v >>> 4) & 3) | (((h >>> 2) & 1) << 2);
      out[e + 96] = (v >>> 6) | (((h >>> 3) & 1) << 2);
    }
  }
};

/**
 * Q5_K: low nibbles in qs[128] at 48 as Q4_K's (element 64i + l low, 64i + 32 + l high nibble of
 * byte 32i + l), fifth bits in qh[32] at 16: bit 2i of qh[l] for element 64i + l, bit 2i + 1 for
 * element 64i + 32 + l.
 */
const q5kCodes: CodesInto = (b, at, out) => {
  for (let i = 0; i < 4; i++) {
    for (let l = 0; l < 32; l++) {
      const v = byte(b, at + 48 + 32 * i + l);
      const h = byte(b, at + 16 + l) >>> (2 * i);
      out[64 * i + l] = (v & 0xf) | ((h & 1) << 4);
      out[64 * i + 32 + l] = (v >>> 4) | (((h >>> 1) & 1) << 4);
    }
  }
};

/** Q6_K: low nibbles in ql[128] at 0, high bit pairs in qh[64] at 128 (see the header). */
const q6kCodes: CodesInto = (b, at, out) => {
  for (let n = 0; n < 2; n++) {
    const ql = at + 64 * n;
    const qh = at + 128 + 32 * n;
    const base = 128 * n;
    for (let l = 0; l < 32; l++) {
      const lo = byte(b, ql + l);
      const lo2 = byte(b, ql + l + 32);
      const h = byte(b, qh + l);
      out[base + l] = (lo & 0xf) | ((h & 3) << 4);
      out[base + l + 32] = (lo2 & 0xf) | (((h >>> 2) & 3) << 4);
      out[base + l + 64] = (lo >>> 4) | (((h >>> 4) & 3) << 4);
      out[base + l + 96] = (lo2 >>> 4) | (((h >>> 6) & 3) << 4);
    }
  }
};

/**
 * block_q2_K: scales[16] (low nibble scale, high nibble min of each 16 elements), qs[64], f16 d
 * at 80, f16 dmin at 82; x = d·sc·q − dmin·m.
 */
export const Q2_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 84,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at + 80));
    const dmin = halfToFloat(b.readUInt16LE(at + 82));
    q2kCodes(b, at, scratch);
    for (let s = 0; s < 16; s++) {
      const sc = byte(b, at + s);
      const dl = d * (sc & 0xf);
      const ml = dmin * (sc >>> 4);
      for (let e = 16 * s; e < 16 * s + 16; e++) emit(dl * (scratch[e] ?? 0) - ml);
    }
  },
  block: {
    d: f16At(80),
    dmin: f16At(82),
    codes: 4,
    low: [0],
    high: 3,
    packing: 'crumbs',
    from: 16,
    count: 64,
    codesInto: q2kCodes,
  },
};

/**
 * block_q3_K: hmask[32], qs[64], scales[12] (16 signed 6-bit scales, `q3kScale`), f16 d at 108;
 * x = d·sc·(code − 4).
 */
export const Q3_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 110,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at + 108));
    q3kCodes(b, at, scratch);
    for (let s = 0; s < 16; s++) {
      const dl = d * q3kScale(b, at + 96, s);
      for (let e = 16 * s; e < 16 * s + 16; e++) emit(dl * ((scratch[e] ?? 0) - 4));
    }
  },
  block: {
    d: f16At(108),
    codes: 8,
    low: [0],
    high: 7,
    packing: 'planes',
    from: 0,
    count: 96,
    codesInto: q3kCodes,
  },
};

/**
 * block_q4_K: f16 d, f16 dmin, scales[12] (8 packed 6-bit scales and mins), qs[128]; sub-block 2i
 * uses the low nibbles of qs[32i..32i+31], sub-block 2i+1 the high ones; x = d·sc·q − dmin·m.
 */
export const Q4_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 144,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    const dmin = halfToFloat(b.readUInt16LE(at + 2));
    const sc = (k: number): number => byte(b, at + 4 + k);
    let q = at + 16;
    for (let is = 0; is < 8; is += 2) {
      const [s1, m1] = q4kScaleMin(sc, is);
      const [s2, m2] = q4kScaleMin(sc, is + 1);
      for (let l = 0; l < 32; l++) emit(d * s1 * (byte(b, q + l) & 0xf) - dmin * m1);
      for (let l = 0; l < 32; l++) emit(d * s2 * (byte(b, q + l) >>> 4) - dmin * m2);
      q += 32;
    }
  },
  block: {
    d: f16At(0),
    dmin: f16At(2),
    codes: 16,
    low: [0],
    high: 15,
    packing: 'nibbles',
    from: 16,
    count: 128,
  },
};

/**
 * block_q5_K: Q4_K's f16 d, f16 dmin and scales[12], then qh[32] at 16 and qs[128] at 48
 * (`q5kCodes`); x = d·sc·q − dmin·m with 5-bit q.
 */
export const Q5_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 176,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    const dmin = halfToFloat(b.readUInt16LE(at + 2));
    const sc = (k: number): number => byte(b, at + 4 + k);
    q5kCodes(b, at, scratch);
    for (let s = 0; s < 8; s++) {
      const [scale, min] = q4kScaleMin(sc, s);
      const dl = d * scale;
      const ml = dmin * min;
      for (let e = 32 * s; e < 32 * s + 32; e++) emit(dl * (scratch[e] ?? 0) - ml);
    }
  },
  block: {
    d: f16At(0),
    dmin: f16At(2),
    codes: 32,
    low: [0],
    high: 31,
    packing: 'planes',
    from: 16,
    count: 160,
    codesInto: q5kCodes,
  },
};

/**
 * block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16] at 192, f16 d at 208;
 * x = d·scale[e/16]·(q − 32).
 */
export const Q6_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 210,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at + 208));
    q6kCodes(b, at, scratch);
    for (let s = 0; s < 16; s++) {
      const dl = d * b.readInt8(at + 192 + s);
      for (let e = 16 * s; e < 16 * s + 16; e++) emit(dl * ((scratch[e] ?? 0) - 32));
    }
  },
  block: {
    d: f16At(208),
    codes: 64,
    low: [0],
    high: 63,
    packing: 'planes',
    from: 0,
    count: 192,
    codesInto: q6kCodes,
  },
};
