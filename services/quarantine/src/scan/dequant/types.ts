// What a dequantiser is: one block of bytes in, its values out in ggml's element order.

/** Reads one of a block's scales (the block starts at `at`). */
export type ReadScale = (b: Buffer, at: number) => number;

/** Dequantises the block starting at `at` in `b`, calling `emit` once per value, in order. */
export type DecodeBlock = (b: Buffer, at: number, emit: (x: number) => void) => void;

/**
 * Where gguf-guard's block checks find a type's scales and codes. `bytes`: one int8 code per byte
 * (code = byte ^ 0x80); `nibbles`: two 4-bit codes per byte; `each`: `forEachCode` walks the codes
 * (types whose codes are split over several bit planes).
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
  packing: 'bytes' | 'nibbles' | 'each';
  /** Where the code bytes start and how many there are (bytes and nibbles packings). */
  from: number;
  count: number;
  /** Calls `f` with every code of the block (each packing). */
  forEachCode?: (b: Buffer, at: number, f: (code: number) => void) => void;
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
