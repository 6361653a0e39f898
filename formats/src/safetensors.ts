// Safetensors format gate (quarantine.md §2.2.1): strict validation of the 8-byte length prefix
// and the JSON header (json.ts), without ever reading the tensor data. Every hostile input ends in
// a `{ ok: false, reason, detail }` with a stable reason code; nothing here throws.
import { fileSource } from './fileSource.js';
import { decodeUtf8Strict, parseBoundedJson, type JsonValue } from './json.js';
import { readExactly, type ByteSource, type FileSource } from './source.js';

/** Bits per element of every dtype the safetensors format defines (sub-byte types are packed). */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
});

export interface SafetensorsLimits {
  /** Upper bound of the JSON header length N (reference: 100 MiB). */
  readonly maxHeaderBytes: number;
  readonly maxTensors: number;
  readonly maxNameBytes: number;
  readonly maxRank: number;
  readonly maxMetadataEntries: number;
  readonly maxMetadataValueBytes: number;
  readonly maxJsonDepth: number;
  readonly maxJsonTokens: number;
  /** The format gate requires at least one tensor and a non-empty data buffer. */
  readonly requireData: boolean;
  /** Refuse files with more than one hard link (§2.2.3). */
  readonly requireSingleLink: boolean;
}

export const DEFAULT_SAFETENSORS_LIMITS: SafetensorsLimits = {
  maxHeaderBytes: 100 * 1024 * 1024,
  maxTensors: 250_000,
  maxNameBytes: 4096,
  maxRank: 32,
  maxMetadataEntries: 16_384,
  maxMetadataValueBytes: 16 * 1024 * 1024,
  maxJsonDepth: 64,
  maxJsonTokens: 1_000_000,
  requireData: true,
  requireSingleLink: true,
};

export type SafetensorsReason =
  | 'io_error'
  | 'not_regular_file'
  | 'hard_link'
  | 'file_too_short'
  | 'header_length_out_of_bounds'
  | 'header_exceeds_file'
  | 'file_changed'
  | 'header_not_object'
  | 'header_not_utf8'
  | 'header_invalid_json'
  | 'header_duplicate_key'
  | 'header_too_complex'
  | 'metadata_invalid'
  | 'too_many_tensors'
  | 'tensor_name_invalid'
  | 'tensor_entry_invalid'
  | 'dtype_invalid'
  | 'shape_invalid'
  | 'offsets_invalid'
  | 'byte_size_mismatch'
  | 'tensor_overlap'
  | 'tensor_gap'
  | 'trailing_data'
  | 'no_tensor_data';

export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: string;
  /** Dimensions (each ≤ 2^53−1). */
  readonly shape: readonly number[];
  /** Offsets relative to the start of the data buffer (file offset = 8 + headerLength + begin). */
  readonly begin: number;
  readonly end: number;
  readonly elements: bigint;
}

export type SafetensorsInspection =
  | {
      readonly ok: true;
      readonly tensors: readonly SafetensorsTensor[];
      readonly metadata: Readonly<Record<string, string>>;
      readonly headerLength: number;
      readonly dataLength: number;
    }
  | { readonly ok: false; readonly reason: SafetensorsReason; readonly detail: string };

type Fail = { readonly ok: false; readonly reason: SafetensorsReason; readonly detail: string };

function fail(reason: SafetensorsReason, detail: string): Fail {
  return { ok: false, reason, detail };
}

const U64_MAX = (1n << 64n) - 1n;
const I63_MAX = (1n << 63n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const textEncoder = new TextEncoder();

function isRecord(v: JsonValue): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a safetensors header given its raw bytes and the total file size. Pure; used by
 * `inspectSafetensors` and directly by tests and fuzzers.
 */
export function validateSafetensorsHeader(
  header: Uint8Array,
  fileSize: number,
  limitsIn: Partial<SafetensorsLimits> = {},
): SafetensorsInspection {
  try {
    return validateHeaderUnsafe(header, fileSize, { ...DEFAULT_SAFETENSORS_LIMITS, ...limitsIn });
  } catch (error) {
    return fail('header_invalid_json', `validator error: ${String(error)}`);
  }
}

function validateHeaderUnsafe(
  header: Uint8Array,
  fileSize: number,
  limits: SafetensorsLimits,
): SafetensorsInspection {
  const headerLength = header.length;
  const dataLength = fileSize - 8 - headerLength;
  if (!Number.isSafeInteger(dataLength) || dataLength < 0) {
    return fail(
      'header_exceeds_file',
      `header of ${headerLength} bytes exceeds file of ${fileSize}`,
    );
  }
  // Must start with '{' and, after stripping trailing ASCII spaces only, end with '}'.
  let last = headerLength - 1;
  while (last >= 0 && header[last] === 0x20) last -= 1;
  if (header[0] !== 0x7b || last < 1 || header[last] !== 0x7d) {
    return fail(
      'header_not_object',
      "header must start with '{' and end with '}' (space padding only)",
    );
  }
  const text = decodeUtf8Strict(header);
  if (text === undefined) return fail('header_not_utf8', 'header is not valid UTF-8');
  const parsed = parseBoundedJson(text, {
    maxDepth: limits.maxJsonDepth,
    maxTokens: limits.maxJsonTokens,
    integers: 'bigint',
  });
  if (!parsed.ok) {
    if (parsed.code === 'json_duplicate_key') return fail('header_duplicate_key', parsed.detail);
    if (parsed.code === 'json_too_deep' || parsed.code === 'json_too_many_tokens') {
      return fail('header_too_complex', parsed.detail);
    }
    return fail('header_invalid_json', parsed.detail);
  }
  const root = parsed.value;
  if (!isRecord(root)) return fail('header_not_object', 'header JSON is not an object');

  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  const keys = Object.keys(root);
  const tensorCount = keys.length - (Object.hasOwn(root, '__metadata__') ? 1 : 0);
  if (tensorCount > limits.maxTensors) {
    return fail('too_many_tensors', `${tensorCount} tensors (limit ${limits.maxTensors})`);
  }
  for (const name of keys) {
    const entry = root[name] as JsonValue;
    if (name === '__metadata__') {
      if (!isRecord(entry)) return fail('metadata_invalid', '__metadata__ is not an object');
      const mkeys = Object.keys(entry);
      if (mkeys.length > limits.maxMetadataEntries) {
        return fail('metadata_invalid', `__metadata__ has ${mkeys.length} entries`);
      }
      for (const k of mkeys) {
        const v = entry[k];
        if (typeof v !== 'string') {
          return fail(
            'metadata_invalid',
            `__metadata__ value for ${JSON.stringify(k.slice(0, 128))} is not a string`,
          );
        }
        if (v.length > limits.maxMetadataValueBytes) {
          return fail(
            'metadata_invalid',
            `__metadata__ value for ${JSON.stringify(k.slice(0, 128))} too long`,
          );
        }
        Object.defineProperty(metadata, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      continue;
    }
    const nameBytes = textEncoder.encode(name).length;
    if (nameBytes === 0 || nameBytes > limits.maxNameBytes) {
      return fail(
        'tensor_name_invalid',
        `tensor name of ${nameBytes} bytes (must be 1..${limits.maxNameBytes})`,
      );
    }
    const label = JSON.stringify(name.slice(0, 128));
    if (!isRecord(entry)) return fail('tensor_entry_invalid', `tensor ${label} is not an object`);
    const ekeys = Object.keys(entry).sort();
    if (
      ekeys.length !== 3 ||
      ekeys[0] !== 'data_offsets' ||
      ekeys[1] !== 'dtype' ||
      ekeys[2] !== 'shape'
    ) {
      return fail(
        'tensor_entry_invalid',
        `tensor ${label} must have exactly dtype, shape, data_offsets (has ${ekeys.slice(0, 8).join(', ')})`,
      );
    }
    const dtype = entry.dtype;
    const bits =
      typeof dtype === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype)
        ? SAFETENSORS_DTYPE_BITS[dtype]
        : undefined;
    if (typeof dtype !== 'string' || bits === undefined) {
      return fail(
        'dtype_invalid',
        `tensor ${label} has unsupported dtype ${JSON.stringify(dtype)}`,
      );
    }
    const shapeV = entry.shape;
    if (!Array.isArray(shapeV) || shapeV.length > limits.maxRank) {
      return fail(
        'shape_invalid',
        `tensor ${label} shape must be a list of at most ${limits.maxRank} integers`,
      );
    }
    let elements = 1n;
    const shape: number[] = [];
    for (const d of shapeV) {
      if (typeof d !== 'bigint' || d < 0n || d > I63_MAX) {
        return fail(
          'shape_invalid',
          `tensor ${label} has a dimension that is not an integer in [0, 2^63-1]`,
        );
      }
      if (d > MAX_SAFE)
        return fail('shape_invalid', `tensor ${label} has a dimension above 2^53-1`);
      elements *= d;
      if (elements > U64_MAX)
        return fail('shape_invalid', `tensor ${label} element count overflows 64 bits`);
      shape.push(Number(d));
    }
    const offs = entry.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      typeof offs[0] !== 'bigint' ||
      typeof offs[1] !== 'bigint'
    ) {
      return fail('offsets_invalid', `tensor ${label} data_offsets must be two integers`);
    }
    const [b, e] = offs as [bigint, bigint];
    if (b < 0n || e < b || e > BigInt(dataLength)) {
      return fail(
        'offsets_invalid',
        `tensor ${label} data_offsets [${b}, ${e}] outside data of ${dataLength} bytes`,
      );
    }
    const expected = (elements * BigInt(bits) + 7n) / 8n;
    if (e - b !== expected) {
      return fail(
        'byte_size_mismatch',
        `tensor ${label} occupies ${e - b} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`,
      );
    }
    tensors.push({ name, dtype, shape, begin: Number(b), end: Number(e), elements });
  }

  // The intervals, sorted, must tile [0, dataLength) exactly. Zero-width tensors may share a
  // position with a boundary but not sit inside another tensor.
  const sorted = [...tensors].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  let prev = '';
  for (const t of sorted) {
    if (t.begin > cursor) {
      return fail(
        'tensor_gap',
        `tensor ${JSON.stringify(t.name.slice(0, 128))} leaves a hole in [${cursor}, ${t.begin})`,
      );
    }
    if (t.begin < cursor) {
      return fail(
        'tensor_overlap',
        `tensor ${JSON.stringify(t.name.slice(0, 128))} overlaps ${JSON.stringify(prev.slice(0, 128))} at ${t.begin}`,
      );
    }
    cursor = t.end;
    prev = t.name;
  }
  if (cursor !== dataLength) {
    return fail(
      'trailing_data',
      `unindexed trailing data: ${dataLength - cursor} bytes after offset ${cursor}`,
    );
  }
  if (limits.requireData && (tensors.length === 0 || dataLength === 0)) {
    return fail('no_tensor_data', 'safetensors model contains no tensor data');
  }
  return { ok: true, tensors, metadata, headerLength, dataLength };
}

/** Validates a complete safetensors file held in memory (tests, fuzzing, small files). */
export function inspectSafetensorsBuffer(
  bytes: Uint8Array,
  limitsIn: Partial<SafetensorsLimits> = {},
): SafetensorsInspection {
  const limits = { ...DEFAULT_SAFETENSORS_LIMITS, ...limitsIn };
  const bounds = checkLengthPrefix(bytes.subarray(0, 8), bytes.length, limits);
  if (typeof bounds !== 'number') return bounds;
  return validateSafetensorsHeader(bytes.subarray(8, 8 + bounds), bytes.length, limits);
}

function checkLengthPrefix(
  prefix: Uint8Array,
  fileSize: number,
  limits: SafetensorsLimits,
): number | Fail {
  if (prefix.length < 8 || fileSize < 8) return fail('file_too_short', `file of ${fileSize} bytes`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n < 2n || n > BigInt(limits.maxHeaderBytes)) {
    return fail(
      'header_length_out_of_bounds',
      `header length ${n} not in [2, ${limits.maxHeaderBytes}]`,
    );
  }
  if (8n + n > BigInt(fileSize)) {
    return fail('header_exceeds_file', `header length ${n} exceeds file of ${fileSize} bytes`);
  }
  return Number(n);
}

/**
 * Opens `path` (no symlink following, non-blocking so a FIFO cannot stall us), checks it is a
 * regular single-link file, and validates the length prefix and JSON header. Reads at most
 * 8 + maxHeaderBytes bytes; never the tensor data.
 */
export async function inspectSafetensors(
  path: string,
  limitsIn: Partial<SafetensorsLimits> = {},
): Promise<SafetensorsInspection> {
  return inspectSafetensorsFile(() => fileSource(path), limitsIn);
}

/**
 * Opens a file through `open` (a path's, or a directory member's) and inspects it: a link is
 * `not_regular_file`, a file with more than one link `hard_link` (when the limits require one),
 * any other failure to open or read `io_error`. Never throws.
 */
export async function inspectSafetensorsFile(
  open: () => Promise<FileSource>,
  limitsIn: Partial<SafetensorsLimits> = {},
): Promise<SafetensorsInspection> {
  const limits = { ...DEFAULT_SAFETENSORS_LIMITS, ...limitsIn };
  let source: FileSource | undefined;
  try {
    source = await open();
    if (source.kind !== 'file') return fail('not_regular_file', 'not a regular file');
    if (limits.requireSingleLink && source.links !== 1)
      return fail('hard_link', `file has ${source.links} links`);
    return await inspectSafetensorsSource(source, limits);
  } catch (error) {
    return ioFailure(error);
  } finally {
    await source?.close().catch(() => undefined);
  }
}

/**
 * Validates the length prefix and JSON header of the safetensors in `source`, reading at most
 * 8 + maxHeaderBytes bytes at explicit offsets; a source that changed while read is
 * `file_changed`. Never throws.
 */
export async function inspectSafetensorsSource(
  source: ByteSource,
  limitsIn: Partial<SafetensorsLimits> = {},
): Promise<SafetensorsInspection> {
  const limits = { ...DEFAULT_SAFETENSORS_LIMITS, ...limitsIn };
  try {
    const prefix = await readExactly(source, 0, Math.min(8, source.size));
    if (prefix === undefined) return fail('file_changed', 'file shrank while being read');
    const bounds = checkLengthPrefix(prefix, source.size, limits);
    if (typeof bounds !== 'number') return bounds;
    const header = await readExactly(source, 8, bounds);
    if (header === undefined) return fail('file_changed', 'file shrank while being read');
    if (!(await source.unchanged())) {
      return fail('file_changed', 'file changed while it was being read');
    }
    return validateSafetensorsHeader(header, source.size, limits);
  } catch (error) {
    return ioFailure(error);
  }
}

function ioFailure(error: unknown): Fail {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ELOOP') return fail('not_regular_file', 'path is a symbolic link');
  return fail(
    'io_error',
    `${code ?? 'error'}: ${String((error as Error | undefined)?.message ?? error)}`,
  );
}
