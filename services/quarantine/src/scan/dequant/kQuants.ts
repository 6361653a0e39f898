// ggml's K-quants: 256-element super-blocks of 16 or 8 sub-blocks with their own quantised scales
// (ggml-common.h, dequantize_row_q{2..6}_K of ggml-quants.c). Q2_K, Q3_K and Q6_K lay their codes
// out in two halves of 128: in half n, byte l of a 32-byte run holds, in bit pair (or nibble) j,
// element 128n + 32j + l (l < 32), so the codes of one element are spread over bit planes.
import { f16At, halfToFloat } from './half.js';
import type { BlockQuantType } from './types.js';

const byte = (b: Buffer, i: number): number => b[i] ?? 0;

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

/** Calls `f(element, code)` for the 256 6-bit codes (0..63) of a Q6_K block, in ggml's layout. */
export function forEachQ6kCode(b: Buffer, at: number, f: (e: number, q: number) => void): void {
  for (let n = 0; n < 2; n++) {
    const ql = at + 64 * n;
    const qh = at + 128 + 32 * n;
    const base = 128 * n;
    for (let l = 0; l < 32; l++) {
      const lo = byte(b, ql + l);
      const lo2 = byte(b, ql + l + 32);
      const h = byte(b, qh + l);
      f(base + l, (lo & 0xf) | ((h & 3) << 4));
      f(base + l + 32, (lo2 & 0xf) | (((h >>> 2) & 3) << 4));
      f(base + l + 64, (lo >>> 4) | (((h >>> 4) & 3) << 4));
      f(base + l + 96, (lo2 >>> 4) | (((h >>> 6) & 3) << 4));
    }
  }
}

/**
 * block_q2_K: scales[16] (low nibble scale, high nibble min of each 16 elements), qs[64] (2-bit
 * codes), f16 d at 80, f16 dmin at 82; x = d·sc·q − dmin·m.
 */
export const Q2_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 84,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at + 80));
    const dmin = halfToFloat(b.readUInt16LE(at + 82));
    let is = 0;
    for (let n = 0; n < 2; n++) {
      const q = at + 16 + 32 * n;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = byte(b, at + is++);
          const dl = d * (sc & 0xf);
          const ml = dmin * (sc >>> 4);
          for (let l = 0; l < 16; l++) emit(dl * ((byte(b, q + half + l) >>> shift) & 3) - ml);
        }
      }
    }
  },
  block: {
    d: f16At(80),
    dmin: f16At(82),
    codes: 4,
    low: [0],
    high: 3,
    packing: 'each',
    from: 16,
    count: 64,
    forEachCode: (b, at, f) => {
      for (let i = at + 16; i < at + 80; i++) {
        const v = byte(b, i);
        f(v & 3);
        f((v >>> 2) & 3);
        f((v >>> 4) & 3);
        f(v >>> 6);
      }
    },
  },
};

/**
 * block_q3_K: hmask[32] (third bits), qs[64] (low 2 bits), scales[12] (16 signed 6-bit scales,
 * see `q3kScale`), f16 d at 108; x = d·sc·(q − 4), where q's third bit *set* means no offset:
 * ggml subtracts 4 when the hmask bit is clear.
 */
export const Q3_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 110,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at + 108));
    let is = 0;
    for (let n = 0; n < 2; n++) {
      const q = at + 32 + 32 * n;
      for (let j = 0; j < 4; j++) {
        const shift = 2 * j;
        const m = 1 << (4 * n + j);
        for (let half = 0; half < 32; half += 16) {
          const dl = d * q3kScale(b, at + 96, is++);
          for (let l = 0; l < 16; l++) {
            const low = (byte(b, q + half + l) >>> shift) & 3;
            const offset = byte(b, at + half + l) & m ? 0 : 4;
            emit(dl * (low - offset));
          }
        }
      }
    }
  },
  block: {
    d: f16At(108),
    codes: 8,
    low: [0],
    high: 7,
    packing: 'each',
    from: 0,
    count: 96,
    // Code = the 3-bit value q − 4 + 4 (0..7): low two bits from qs, third from hmask.
    forEachCode: (b, at, f) => {
      for (let n = 0; n < 2; n++) {
        for (let j = 0; j < 4; j++) {
          const m = 1 << (4 * n + j);
          for (let l = 0; l < 32; l++) {
            const low = (byte(b, at + 32 + 32 * n + l) >>> (2 * j)) & 3;
            f(low | (byte(b, at + l) & m ? 4 : 0));
          }
        }
      }
    },
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
 * block_q5_K: Q4_K's layout (f16 d, f16 dmin, scales[12]) plus qh[32] at 16 before qs[128] at
 * 48; element 64i + l (l < 32) takes its fifth bit from bit 2i of qh[l], element 64i + 32 + l from
 * bit 2i + 1; x = d·sc·q − dmin·m with 5-bit q.
 */
export const Q5_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 176,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at));
    const dmin = halfToFloat(b.readUInt16LE(at + 2));
    const sc = (k: number): number => byte(b, at + 4 + k);
    for (let i = 0; i < 4; i++) {
      const [s1, m1] = q4kScaleMin(sc, 2 * i);
      const [s2, m2] = q4kScaleMin(sc, 2 * i + 1);
      const ql = at + 48 + 32 * i;
      for (let l = 0; l < 32; l++) {
        const q = (byte(b, ql + l) & 0xf) | (((byte(b, at + 16 + l) >>> (2 * i)) & 1) << 4);
        emit(d * s1 * q - dmin * m1);
      }
      for (let l = 0; l < 32; l++) {
        const q = (byte(b, ql + l) >>> 4) | (((byte(b, at + 16 + l) >>> (2 * i + 1)) & 1) << 4);
        emit(d * s2 * q - dmin * m2);
      }
    }
  },
  block: {
    d: f16At(0),
    dmin: f16At(2),
    codes: 32,
    low: [0],
    high: 31,
    packing: 'each',
    from: 16,
    count: 160,
    forEachCode: (b, at, f) => {
      for (let i = 0; i < 4; i++) {
        for (let l = 0; l < 32; l++) {
          const v = byte(b, at + 48 + 32 * i + l);
          const h = byte(b, at + 16 + l) >>> (2 * i);
          f((v & 0xf) | ((h & 1) << 4));
          f((v >>> 4) | (((h >>> 1) & 1) << 4));
        }
      }
    },
  },
};

/** Q6_K's codes arrive out of order: one block is put in order here before it is emitted. */
const q6kScratch = new Float64Array(256);

/**
 * block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], f16 d at 208;
 * x = d·scale[e/16]·(q − 32), elements interleaved as `forEachQ6kCode` walks them.
 */
export const Q6_K: BlockQuantType = {
  blockSize: 256,
  typeSize: 210,
  decode: (b, at, emit) => {
    const d = halfToFloat(b.readUInt16LE(at + 208));
    const out = q6kScratch;
    forEachQ6kCode(b, at, (e, q) => {
      out[e] = d * b.readInt8(at + 192 + (e >>> 4)) * (q - 32);
    });
    for (const x of out) emit(x);
  },
  block: {
    d: f16At(208),
    codes: 64,
    low: [0],
    high: 63,
    packing: 'each',
    from: 0,
    count: 192,
    forEachCode: (b, at, f) => forEachQ6kCode(b, at, (_e, q) => f(q)),
  },
};
