// Every tensor type the weight statistics read, with its block geometry and ggml's reference
// dequantisation. A type missing here is "not analysed": its tensors are reported, counted in
// the share of parameters the scan could not see, and skipped. Missing today: the IQ1/IQ2/IQ3
// types (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S), whose codes index large lattice
// grids (iq2xxs_grid and friends) we do not carry; the ternary TQ1_0/TQ2_0; Q8_1/Q8_K (ggml's
// intermediate types, never in a released model); integer tensors; safetensors' F4/F6/F8.
import { IQ4_NL, IQ4_XS } from './iq4.js';
import { MXFP4 } from './fp4.js';
import { Q2_K, Q3_K, Q4_K, Q5_K, Q6_K } from './kQuants.js';
import { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 } from './legacy.js';
import { BF16, F16, F32, F64 } from './plain.js';
import type { DequantType } from './types.js';

/** The types analysed, by their ggml (and safetensors) names. */
export const DEQUANT_TYPES = Object.freeze({
  F32,
  F16,
  BF16,
  F64,
  Q8_0,
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  IQ4_NL,
  IQ4_XS,
  MXFP4,
}) satisfies Readonly<Record<string, DequantType>>;

export type DequantTypeName = keyof typeof DEQUANT_TYPES;

export function isDequantType(type: string): type is DequantTypeName {
  return Object.hasOwn(DEQUANT_TYPES, type);
}

/** The unquantised float types; every other type here is block-quantised. */
export const PLAIN_FLOAT_TYPES = ['F32', 'F16', 'BF16', 'F64'] as const;

/** The block-quantised types (the ones gguf-guard's block checks read). */
export type BlockQuantTypeName = Exclude<DequantTypeName, (typeof PLAIN_FLOAT_TYPES)[number]>;

export function isBlockQuantType(type: string): type is BlockQuantTypeName {
  return isDequantType(type) && !(PLAIN_FLOAT_TYPES as readonly string[]).includes(type);
}
