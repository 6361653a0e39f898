// The data-section layout rule (issue 11 §1): every byte of a GGUF after its header is either
// tensor data or zero padding up to the alignment, and nothing follows the last tensor but that
// padding. llama.cpp's gguf writer and gguf-py place each tensor at the previous tensor's end
// rounded up to `general.alignment` and pad with zeros (the last tensor too); any other byte has no
// reader and would carry data past every check that reads tensors (a 1.4 MiB base64 trailer was
// promoted before this rule). Pure: it says which ranges must be zero; the caller reads them.
import { GgufError } from './window.js';

export interface LaidOutTensor {
  readonly name: string;
  /** Relative to the data section. */
  readonly offset: bigint;
  readonly bytes: bigint;
}

/** An absolute byte range [start, end) that must hold only zero bytes. */
export interface PaddingRange {
  readonly start: number;
  readonly end: number;
  /** Where it lies, for the rejection's detail and reason. */
  readonly where: 'header' | 'between_tensors' | 'tail';
}

export interface DataLayout {
  /** Bytes after the end of the last tensor (zero padding below the alignment). */
  readonly trailingBytes: number;
  readonly padding: readonly PaddingRange[];
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/**
 * Checks the layout of tensors already known to be aligned, inside the file and non-overlapping.
 * Throws `tensor_gap` when a tensor starts beyond the padding after its predecessor (or the first
 * beyond the data section's start) and `trailing_data` when the file goes on past the last
 * tensor's padded end; returns the padding ranges whose bytes must be zero. With no tensors the
 * data section must be empty.
 */
export function checkDataLayout(input: {
  readonly headerEnd: number;
  readonly dataOffset: number;
  readonly alignment: number;
  readonly fileSize: number;
  /** Sorted by offset. */
  readonly tensors: readonly LaidOutTensor[];
}): DataLayout {
  const { headerEnd, dataOffset, alignment, fileSize, tensors } = input;
  const align = BigInt(alignment);
  const up = (n: bigint): bigint => ((n + align - 1n) / align) * align;
  const padding: PaddingRange[] = [];
  const add = (start: bigint, end: bigint, where: PaddingRange['where']): void => {
    if (end > start) padding.push({ start: Number(start), end: Number(end), where });
  };
  const base = BigInt(dataOffset);
  add(BigInt(headerEnd), base, 'header');
  let end = 0n;
  let prev: string | undefined;
  for (const t of tensors) {
    if (t.offset > up(end)) {
      throw new GgufError(
        'tensor_gap',
        `${t.offset - end} byte(s) before tensor ${quote(t.name)} at ${t.offset} belong to no ` +
          `tensor (${prev === undefined ? 'the data section starts' : `${quote(prev)} ends`} at ` +
          `${end}; padding reaches ${up(end)})`,
      );
    }
    add(base + end, base + t.offset, 'between_tensors');
    end = t.offset + t.bytes;
    prev = t.name;
  }
  const last = base + end;
  const limit = tensors.length === 0 ? base : base + up(end);
  const size = BigInt(fileSize);
  if (size > limit) {
    throw new GgufError(
      'trailing_data',
      `${size - last} byte(s) after the end of the last tensor's data at offset ${last} ` +
        `(only zero padding to ${limit} is allowed; the file has ${size})`,
    );
  }
  add(last, size, 'tail');
  return { trailingBytes: Number(size - last), padding };
}

/** The rejection for a padding range that holds a non-zero byte at `at`. */
export function paddingError(range: PaddingRange, at: number, value: number): GgufError {
  const byte = `0x${value.toString(16).padStart(2, '0')}`;
  // Padding after the last tensor is the tail the issue names; it keeps the one reason code.
  if (range.where === 'tail') {
    return new GgufError(
      'trailing_data',
      `padding after the last tensor is not zero (byte ${byte} at offset ${at})`,
    );
  }
  return new GgufError(
    'nonzero_padding',
    `${range.where === 'header' ? 'header' : 'inter-tensor'} padding is not zero (byte ${byte} at offset ${at})`,
  );
}
