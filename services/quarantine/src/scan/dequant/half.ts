// The two 16-bit float formats block scales and plain tensors are stored in.

/** IEEE binary16 bits → number (NaN and ±Infinity preserved: a planted NaN scale must surface). */
export const halfToFloat = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
};

const bf16Scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 bits (the top half of a binary32) → number. */
export const bf16ToFloat = (h: number): number => {
  bf16Scratch.setUint32(0, h << 16);
  return bf16Scratch.getFloat32(0);
};

/** Reads the f16 at byte `offset` of a block. */
export const f16At =
  (offset: number) =>
  (b: Buffer, at: number): number =>
    halfToFloat(b.readUInt16LE(at + offset));
