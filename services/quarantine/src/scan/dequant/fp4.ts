// MXFP4 (OCP microscaling, ggml-common.h block_mxfp4, dequantize_row_mxfp4 of ggml-quants.c):
// 32 FP4 E2M1 values sharing one power-of-two scale. ggml stores the E2M1 values doubled
// (`kvalues_mxfp4`) and halves the scale to match, so x = kvalues[q]·2^(e − 128).
import type { BlockQuantType } from './types.js';

/** ggml's `kvalues_mxfp4`: E2M1 (sign, 2-bit exponent, 1-bit mantissa) times two. */
export const KVALUES_MXFP4: readonly number[] = Object.freeze([
  0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12,
]);

/** ggml_e8m0_to_fp32_half: 2^(e − 128) for every byte (ggml gives 0xFF no NaN meaning). */
const e8m0Half = (b: Buffer, at: number): number => 2 ** ((b[at] ?? 0) - 128);

/** block_mxfp4: u8 e, qs[16]; byte j holds element j (low nibble) and j + 16 (high nibble). */
export const MXFP4: BlockQuantType = {
  blockSize: 32,
  typeSize: 17,
  decode: (b, at, emit) => {
    const d = e8m0Half(b, at);
    for (let j = 0; j < 16; j++) emit(d * (KVALUES_MXFP4[(b[at + 1 + j] ?? 0) & 0xf] ?? 0));
    for (let j = 0; j < 16; j++) emit(d * (KVALUES_MXFP4[(b[at + 1 + j] ?? 0) >>> 4] ?? 0));
  },
  // Codes are sign-magnitude: 15 (−12) is the minimum, 7 (+12) the maximum.
  block: { d: e8m0Half, codes: 16, low: [15], high: 7, packing: 'nibbles', from: 1, count: 16 },
};
