// Test utility: more of ggml's block types for the tiny GGUF writer (ggufWriter.ts), each written
// as ggml lays it out (ggml-common.h) from scales chosen the simple way ggml's reference
// quantisers start from (ggml-quants.c; the K and IQ4 quantisers there go on to search for better
// scales, which changes how well a block fits, not how it is stored). Q4_1, Q5_0 and Q5_1 follow
// quantize_row_*_ref exactly. IQ2_XXS is not a quantisation at all: its codes index a lattice grid
// this writer does not carry, so its blocks are structurally valid but hold arbitrary codes, for
// tests of tensors the scan cannot read.
import { fromHalf, roundf, toHalf } from './half.js';

/** Writes one block of `out` at `at` from the block's values `x[o..]`. */
export type BlockQuantiser = (x: ArrayLike<number>, o: number, out: Buffer, at: number) => void;

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));
/** C's (int8_t)/(uint8_t) cast of a non-negative float: truncation. */
const trunc = Math.trunc;

function minMax(x: ArrayLike<number>, o: number, n: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[o + j] ?? 0;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** The value of largest magnitude (signed), as ggml's symmetric quantisers pick it. */
function signedMax(x: ArrayLike<number>, o: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[o + j] ?? 0;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/** Stores 32 codes of ≤ 5 bits: nibbles in qs (elements j and j + 16 share a byte), bit 4 in qh. */
function pack32(codes: ArrayLike<number>, out: Buffer, qhAt: number, qsAt: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const a = codes[j] ?? 0;
    const b = codes[j + 16] ?? 0;
    out[qsAt + j] = (a & 0x0f) | ((b & 0x0f) << 4);
    qh |= ((a >>> 4) & 1) << j;
    qh |= ((b >>> 4) & 1) << (j + 16);
  }
  if (qhAt >= 0) out.writeUInt32LE(qh >>> 0, qhAt);
}

/** quantize_row_q4_1_ref: d = (max − min)/15, m = min, q = ⌊(x − min)/d + ½⌋. */
export const quantQ4_1: BlockQuantiser = (x, o, out, at) => {
  const [min, max] = minMax(x, o, 32);
  const d = (max - min) / 15;
  const id = d ? 1 / d : 0;
  out.writeUInt16LE(toHalf(d), at);
  out.writeUInt16LE(toHalf(min), at + 2);
  const codes = Array.from({ length: 32 }, (_, j) =>
    Math.min(15, trunc(((x[o + j] ?? 0) - min) * id + 0.5)),
  );
  pack32(codes, out, -1, at + 4);
};

/** quantize_row_q5_0_ref: d = max/−16, q = min(31, ⌊x/d + 16.5⌋). */
export const quantQ5_0: BlockQuantiser = (x, o, out, at) => {
  const d = signedMax(x, o, 32) / -16;
  const id = d ? 1 / d : 0;
  out.writeUInt16LE(toHalf(d), at);
  const codes = Array.from({ length: 32 }, (_, j) =>
    Math.min(31, trunc((x[o + j] ?? 0) * id + 16.5)),
  );
  pack32(codes, out, at + 2, at + 6);
};

/** quantize_row_q5_1_ref: d = (max − min)/31, m = min, q = ⌊(x − min)/d + ½⌋. */
export const quantQ5_1: BlockQuantiser = (x, o, out, at) => {
  const [min, max] = minMax(x, o, 32);
  const d = (max - min) / 31;
  const id = d ? 1 / d : 0;
  out.writeUInt16LE(toHalf(d), at);
  out.writeUInt16LE(toHalf(min), at + 2);
  const codes = Array.from({ length: 32 }, (_, j) =>
    Math.min(31, trunc(((x[o + j] ?? 0) - min) * id + 0.5)),
  );
  pack32(codes, out, at + 4, at + 8);
};

/**
 * The K-quants with a min: sub-block ranges [min(0, x), max x] over `steps`, their scales and mins
 * quantised to `levels` − 1 over the f16 super-block d and dmin; codes against the stored values.
 */
function scaleMinQuant(
  x: ArrayLike<number>,
  o: number,
  subSize: number,
  steps: number,
  levels: number,
): { dh: number; dminh: number; ls: number[]; lm: number[]; codes: Uint8Array } {
  const subs = 256 / subSize;
  const scales: number[] = [];
  const mins: number[] = [];
  for (let j = 0; j < subs; j++) {
    const [mn, mx] = minMax(x, o + subSize * j, subSize);
    scales.push(Math.max(0, mx - Math.min(0, mn)) / steps);
    mins.push(-Math.min(0, mn));
  }
  const top = levels - 1;
  const maxScale = Math.max(...scales);
  const maxMin = Math.max(...mins);
  const ls = scales.map((v) => (maxScale > 0 ? clamp(roundf((top * v) / maxScale), 0, top) : 0));
  const lm = mins.map((v) => (maxMin > 0 ? clamp(roundf((top * v) / maxMin), 0, top) : 0));
  const dh = toHalf(maxScale / top);
  const dminh = toHalf(maxMin / top);
  const d = fromHalf(dh);
  const dmin = fromHalf(dminh);
  const codes = new Uint8Array(256);
  for (let j = 0; j < subs; j++) {
    const sd = d * (ls[j] ?? 0);
    if (sd === 0) continue;
    const dm = dmin * (lm[j] ?? 0);
    for (let l = 0; l < subSize; l++) {
      const e = subSize * j + l;
      codes[e] = clamp(roundf(((x[o + e] ?? 0) + dm) / sd), 0, steps);
    }
  }
  return { dh, dminh, ls, lm, codes };
}

/** Q4_K/Q5_K's 12 bytes of eight 6-bit scales and mins (inverse of ggml `get_scale_min_k4`). */
function packScaleMinK4(ls: number[], lm: number[], out: Buffer, at: number): void {
  for (let j = 0; j < 8; j++) {
    const l = ls[j] ?? 0;
    const m = lm[j] ?? 0;
    if (j < 4) {
      out[at + j] = (out[at + j] ?? 0) | l;
      out[at + j + 4] = (out[at + j + 4] ?? 0) | m;
    } else {
      out[at + j + 4] = (l & 0xf) | ((m & 0xf) << 4);
      out[at + j - 4] = (out[at + j - 4] ?? 0) | ((l >>> 4) << 6);
      out[at + j] = (out[at + j] ?? 0) | ((m >>> 4) << 6);
    }
  }
}

/** Element e's place in the Q2_K/Q3_K bit planes: byte l of run n, bit pair j. */
const plane = (e: number): { n: number; j: number; l: number } => ({
  n: e >>> 7,
  j: (e >>> 5) & 3,
  l: e & 31,
});

/**
 * block_q2_K: 16 sub-blocks of 16, 2-bit codes, 4-bit scale (low nibble) and min (high nibble)
 * in scales[16], qs[64] in bit planes, f16 d at 80, dmin at 82.
 */
export const quantQ2_K: BlockQuantiser = (x, o, out, at) => {
  out.fill(0, at, at + 84);
  const { dh, dminh, ls, lm, codes } = scaleMinQuant(x, o, 16, 3, 16);
  for (let j = 0; j < 16; j++) out[at + j] = (ls[j] ?? 0) | ((lm[j] ?? 0) << 4);
  for (let e = 0; e < 256; e++) {
    const { n, j, l } = plane(e);
    const i = at + 16 + 32 * n + l;
    out[i] = (out[i] ?? 0) | ((codes[e] ?? 0) << (2 * j));
  }
  out.writeUInt16LE(dh, at + 80);
  out.writeUInt16LE(dminh, at + 82);
};

/**
 * block_q3_K: 16 sub-blocks of 16, signed scales (the value of largest magnitude maps to −4),
 * quantised to 6 bits over d so that the largest maps to −32; codes −4..3 stored + 4: the low two
 * bits in qs's bit planes, the third in hmask (element e: byte e mod 32, bit e/32).
 */
export const quantQ3_K: BlockQuantiser = (x, o, out, at) => {
  out.fill(0, at, at + 110);
  const scales = Array.from({ length: 16 }, (_, ib) => signedMax(x, o + 16 * ib, 16) / -4);
  let maxScale = 0;
  for (const s of scales) if (Math.abs(s) > Math.abs(maxScale)) maxScale = s;
  const iscale = maxScale !== 0 ? -32 / maxScale : 0;
  const ls = scales.map((s) => clamp(roundf(iscale * s), -32, 31));
  const dh = toHalf(iscale !== 0 ? 1 / iscale : 0);
  const d = fromHalf(dh);
  for (let j = 0; j < 16; j++) {
    const v = (ls[j] ?? 0) + 32;
    const lowAt = at + 96 + (j & 7);
    out[lowAt] = (out[lowAt] ?? 0) | ((v & 0xf) << (j < 8 ? 0 : 4));
    const highAt = at + 96 + 8 + (j & 3);
    out[highAt] = (out[highAt] ?? 0) | ((v >>> 4) << (2 * (j >>> 2)));
  }
  for (let e = 0; e < 256; e++) {
    const sd = d * (ls[e >>> 4] ?? 0);
    const code = (sd !== 0 ? clamp(roundf((x[o + e] ?? 0) / sd), -4, 3) : 0) + 4;
    const { n, j, l } = plane(e);
    if (code > 3) out[at + (e & 31)] = (out[at + (e & 31)] ?? 0) | (1 << (e >>> 5));
    const i = at + 32 + 32 * n + l;
    out[i] = (out[i] ?? 0) | ((code & 3) << (2 * j));
  }
  out.writeUInt16LE(dh, at + 108);
};

/**
 * block_q5_K: Q4_K's scales (8 sub-blocks of 32, 6-bit scales and mins) with 5-bit codes: low
 * nibbles in qs[128] at 48 as Q4_K, fifth bits in qh[32] at 16 (element 64i + l: bit 2i of qh[l],
 * element 64i + 32 + l: bit 2i + 1).
 */
export const quantQ5_K: BlockQuantiser = (x, o, out, at) => {
  out.fill(0, at, at + 176);
  const { dh, dminh, ls, lm, codes } = scaleMinQuant(x, o, 32, 31, 64);
  out.writeUInt16LE(dh, at);
  out.writeUInt16LE(dminh, at + 2);
  packScaleMinK4(ls, lm, out, at + 4);
  for (let i = 0; i < 4; i++) {
    for (let l = 0; l < 32; l++) {
      const a = codes[64 * i + l] ?? 0;
      const b = codes[64 * i + 32 + l] ?? 0;
      out[at + 48 + 32 * i + l] = (a & 0xf) | ((b & 0xf) << 4);
      const h = at + 16 + l;
      out[h] = (out[h] ?? 0) | ((a >>> 4) << (2 * i)) | ((b >>> 4) << (2 * i + 1));
    }
  }
};

/** ggml's `kvalues_iq4nl`. */
const KVALUES_IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

function nearestIq4(v: number): number {
  let best = 0;
  for (let k = 1; k < 16; k++)
    if (Math.abs(v - (KVALUES_IQ4NL[k] ?? 0)) < Math.abs(v - (KVALUES_IQ4NL[best] ?? 0))) best = k;
  return best;
}

/** 32 values as codebook indices against the scale `dl` (16 bytes at `qsAt`). */
function packIq4(x: ArrayLike<number>, o: number, dl: number, out: Buffer, qsAt: number): void {
  const codes = Array.from({ length: 32 }, (_, j) =>
    dl !== 0 ? nearestIq4((x[o + j] ?? 0) / dl) : 8,
  );
  pack32(codes, out, -1, qsAt);
}

/** block_iq4_nl: the value of largest magnitude maps to the codebook's −127. */
export const quantIQ4_NL: BlockQuantiser = (x, o, out, at) => {
  const dh = toHalf(signedMax(x, o, 32) / -127);
  out.writeUInt16LE(dh, at);
  packIq4(x, o, fromHalf(dh), out, at + 2);
};

/**
 * block_iq4_xs: 8 sub-blocks of 32 with IQ4_NL's codebook, each with a signed 6-bit scale over
 * the super-block d (the largest maps to −32), stored + 32: low nibbles in scales_l[4] at 4, top
 * two bits in the u16 scales_h at 2.
 */
export const quantIQ4_XS: BlockQuantiser = (x, o, out, at) => {
  out.fill(0, at, at + 136);
  const scales = Array.from({ length: 8 }, (_, ib) => signedMax(x, o + 32 * ib, 32) / -127);
  let maxScale = 0;
  for (const s of scales) if (Math.abs(s) > Math.abs(maxScale)) maxScale = s;
  const dh = toHalf(-maxScale / 32);
  const d = fromHalf(dh);
  out.writeUInt16LE(dh, at);
  let scalesH = 0;
  for (let ib = 0; ib < 8; ib++) {
    const l = d !== 0 ? clamp(roundf((scales[ib] ?? 0) / d), -32, 31) : 0;
    const v = l + 32;
    out[at + 4 + (ib >>> 1)] = (out[at + 4 + (ib >>> 1)] ?? 0) | ((v & 0xf) << (4 * (ib & 1)));
    scalesH |= (v >>> 4) << (2 * ib);
    packIq4(x, o + 32 * ib, d * l, out, at + 8 + 16 * ib);
  }
  out.writeUInt16LE(scalesH, at + 2);
};

/**
 * block_iq2_xxs (f16 d, u16 qs[32]) with a d of the block's scale and codes taken from the bits of
 * the values: structurally valid, but not a quantisation (see the header).
 */
export const opaqueIQ2_XXS: BlockQuantiser = (x, o, out, at) => {
  let sum = 0;
  for (let j = 0; j < 256; j++) sum += (x[o + j] ?? 0) ** 2;
  out.writeUInt16LE(toHalf(Math.sqrt(sum / 256) / 50), at);
  for (let k = 0; k < 64; k++) out[at + 2 + k] = toHalf(x[o + 4 * k] ?? 0) & 0xff;
};
