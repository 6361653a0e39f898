// What a dequantiser is: one block of bytes in, its values out in ggml's element order.

/** Writes the codes of the block at `at` to `out[0..blockSize)`, in element order. */
export type CodesInto = (b: Buffer, at: number, out: Uint8Array) => void;

/** Reads one of a block's scales (the block starts at `at`). */
export type ReadScale = (b: Buffer, at: number) => number;

/** Dequantises the block starting at `at` in `b`, calling `emit` once per value, in order. */
export type DecodeBlock = (b: Buffer, at: number, emit: (x: number) => void) => void;

/**
 * Where gguf-guard's block checks find a type's scales and codes. `bytes`: one int8 code per byte
 * (code = byte ^ 0x80, so −128 → 0 and 127 → 255); `nibbles`: two 4-bit codes per byte; `crumbs`:
 * four 2-bit codes per byte; `planes`: codes split over bit planes, which `codesInto` puts
 * together.
 */
export interface BlockCodes {
  /** The block scale d. */
  d: ReadScale;
  /** The second scale: dmin of the K types, the additive min m of Q4_1/Q5_1. */
  dmin?: ReadScale;
  /** Number of distinct codes; `low` codes count as the minimum, `high` is the maximum. */
  codes: number;
  low: readonly number[];
  high: number;
  packing: 'bytes' | 'nibbles' | 'crumbs' | 'planes';
  /** Where the code bytes start and how many there are (bytes, nibbles and crumbs packings). */
  from: number;
  count: number;
  /** Writes the block's codes, one per element in element order, to `out` (planes packing). */
  codesInto?: CodesInto;
}

export interface DequantType {
  /** Elements per block. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  decode: DecodeBlock;
  /** Block-quantised types: where the scales and codes are (absent for F32/F16/BF16/F64). */
  block?: BlockCodes;
}

/** A block-quantised type: one with scales and codes for gguf-guard's block checks. */
export interface BlockQuantType extends DequantType {
  block: BlockCodes;
}
