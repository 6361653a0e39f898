// Strict GGUF header validation (quarantine.md §2.2.1, §2.6.2–§2.6.4 parser bounds) over a byte
// source. The header is walked once through a bounded window; tensor data is never read. Hostile
// input yields `{ ok: false, reason }`; only I/O errors of the source itself are thrown. Opening a
// file is file.ts.
import { createHash } from 'node:crypto';
import type { ByteSource } from '../source.js';
import { scanChatTemplate } from './chatTemplate.js';
import { checkDataLayout, paddingError, type PaddingRange } from './layout.js';
import { GgufError, GgufWindow } from './window.js';
import {
  DEFAULT_GGUF_LIMITS,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_FIXED_VALUE_SIZE,
  GgufValueType,
  type GgufAccepted,
  type GgufChatTemplateInfo,
  type GgufLimits,
  type GgufMetadataSummary,
  type GgufReport,
  type GgufTensorInfo,
} from './types.js';

const MAGIC = 0x46554747; // 'GGUF' read as u32 LE
const INT64_MAX = (1n << 63n) - 1n;
const HEADER_FIXED = 24; // magic + version + tensor_count + kv_count
/** Scalar metadata kept for the summary: keys at most this long, at most this many. */
const SCALAR_KEY_MAX = 256;
const SCALAR_KEEP_MAX = 2048;
const SUMMARY_STRING_MAX = 256;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new GgufError('invalid_utf8', `${what} is not valid UTF-8`);
  }
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

type Scalar = number | bigint | boolean | string;

interface WalkState {
  readonly src: GgufWindow;
  readonly limits: GgufLimits;
  arrayValues: number;
}

/**
 * Inspects the GGUF in `source`. A reader of files checks that it is a regular file first
 * (file.ts); the source's `unchanged()` is asked after the walk, so a file written while read is
 * `file_changed` whatever the walk found.
 */
export async function inspectGgufSource(
  source: ByteSource,
  limits?: Partial<GgufLimits>,
): Promise<GgufReport> {
  const lim: GgufLimits = { ...DEFAULT_GGUF_LIMITS, ...limits };
  let report: GgufReport;
  try {
    report = await walk(source, lim);
  } catch (err) {
    if (err instanceof GgufError) {
      const rejected: GgufReport = { ok: false, reason: err.reason, detail: err.detail };
      if (err instanceof TemplateRejection) rejected.findings = err.findings;
      report = rejected;
    } else {
      throw err;
    }
  }
  if (!(await source.unchanged())) {
    return { ok: false, reason: 'file_changed', detail: 'file changed while it was being parsed' };
  }
  return report;
}

class TemplateRejection extends GgufError {
  constructor(
    detail: string,
    readonly findings: GgufChatTemplateInfo['findings'],
  ) {
    super('suspicious_chat_template', detail);
  }
}

async function walk(source: ByteSource, lim: GgufLimits): Promise<GgufAccepted> {
  const size = source.size;
  const src = new GgufWindow(source, Math.max(lim.maxHeaderBytes, HEADER_FIXED));
  const st: WalkState = { src, limits: lim, arrayValues: 0 };

  // --- fixed header -------------------------------------------------------------------------
  if (size >= 4) {
    await src.ensure(4);
    if (src.u32() !== MAGIC) throw new GgufError('bad_magic', 'file does not start with "GGUF"');
  } else {
    throw new GgufError('truncated', `file has ${size} byte(s)`);
  }
  const version = await src.u32a();
  if (version !== 2 && version !== 3) {
    const hint = version === 0x02000000 || version === 0x03000000 ? ' (big-endian)' : '';
    throw new GgufError('unsupported_version', `GGUF version ${version}${hint}; only 2 and 3`);
  }
  const tensorCount = await src.u64a();
  const kvCount = await src.u64a();
  if (tensorCount > BigInt(lim.maxTensors)) {
    throw new GgufError('too_many_tensors', `${tensorCount} tensors > ${lim.maxTensors}`);
  }
  if (tensorCount < BigInt(lim.minTensors)) {
    throw new GgufError('no_tensors', `${tensorCount} tensor(s) < ${lim.minTensors}`);
  }
  if (kvCount > BigInt(lim.maxKvs)) {
    throw new GgufError('too_many_kvs', `${kvCount} metadata entries > ${lim.maxKvs}`);
  }

  // --- metadata -----------------------------------------------------------------------------
  const keys = new Set<string>();
  const scalars = new Map<string, Scalar>();
  const arrayLengths = new Map<string, number>();
  const templates: GgufChatTemplateInfo[] = [];
  let alignment = GGUF_DEFAULT_ALIGNMENT;

  for (let i = 0; i < Number(kvCount); i++) {
    const key = await readKey(st, i);
    if (keys.has(key)) throw new GgufError('duplicate_key', `duplicate metadata key ${quote(key)}`);
    keys.add(key);
    const type = await src.u32a();
    const isTemplate = key.includes('chat_template') && type === GgufValueType.STRING;
    if (isTemplate) {
      templates.push(await readTemplate(st, key));
      continue;
    }
    if (key === 'general.alignment') {
      if (type !== GgufValueType.UINT32) {
        throw new GgufError('bad_alignment', `general.alignment has value type ${type}, not u32`);
      }
      const a = await src.u32a();
      if (a === 0 || (a & (a - 1)) !== 0 || a > lim.maxAlignment) {
        throw new GgufError(
          'bad_alignment',
          `general.alignment ${a} is not a power of two ≤ ${lim.maxAlignment}`,
        );
      }
      alignment = a;
      continue;
    }
    if (
      (key === 'general.architecture' || key === 'tokenizer.ggml.model') &&
      type !== GgufValueType.STRING
    ) {
      throw new GgufError('bad_metadata_type', `${key} has value type ${type}, not string`);
    }
    if (type === GgufValueType.ARRAY) {
      const len = await readArray(st, key, 1);
      if (key === 'tokenizer.ggml.tokens' || key === 'tokenizer.ggml.merges') {
        arrayLengths.set(key, len);
      }
      continue;
    }
    const keep = key.length <= SCALAR_KEY_MAX && scalars.size < SCALAR_KEEP_MAX;
    const value = await readScalar(st, type, key, keep);
    if (keep && value !== undefined) scalars.set(key, value);
  }

  // --- tensor infos -------------------------------------------------------------------------
  const names = new Set<string>();
  let namesBytes = 0;
  const raw: {
    name: string;
    typeId: number;
    dims: bigint[];
    elements: bigint;
    offset: bigint;
    bytes: bigint;
  }[] = [];
  for (let i = 0; i < Number(tensorCount); i++) {
    const len = await src.u64a();
    if (len === 0n) throw new GgufError('empty_tensor_name', `tensor #${i} has an empty name`);
    if (len > BigInt(lim.maxTensorNameBytes)) {
      throw new GgufError(
        'tensor_name_too_long',
        `tensor #${i} name is ${len} bytes > ${lim.maxTensorNameBytes}`,
      );
    }
    namesBytes += Number(len);
    if (namesBytes > lim.maxTensorNamesTotalBytes) {
      throw new GgufError(
        'tensor_names_too_large',
        `tensor names exceed ${lim.maxTensorNamesTotalBytes} bytes in total`,
      );
    }
    const name = decodeUtf8(await src.bytes(Number(len)), `tensor #${i} name`);
    if (name.includes('\0')) throw new GgufError('invalid_key', `tensor #${i} name contains NUL`);
    if (names.has(name)) {
      throw new GgufError('duplicate_tensor_name', `duplicate tensor name ${quote(name)}`);
    }
    names.add(name);
    const rank = await src.u32a();
    if (rank < 1 || rank > lim.maxRank) {
      throw new GgufError('bad_rank', `tensor ${quote(name)} has rank ${rank} (1..${lim.maxRank})`);
    }
    const dims: bigint[] = [];
    let elements = 1n;
    for (let d = 0; d < rank; d++) {
      const dim = await src.u64a();
      if (dim === 0n) throw new GgufError('zero_dimension', `tensor ${quote(name)} dim ${d} is 0`);
      if (dim > INT64_MAX || elements * dim > INT64_MAX) {
        throw new GgufError('dimension_overflow', `tensor ${quote(name)} element count overflows`);
      }
      elements *= dim;
      dims.push(dim);
    }
    const typeId = await src.u32a();
    const info = GGML_TYPES.get(typeId);
    if (!info)
      throw new GgufError('unknown_ggml_type', `tensor ${quote(name)} has ggml type ${typeId}`);
    const ne0 = dims[0] ?? 1n;
    if (ne0 % BigInt(info.blockSize) !== 0n) {
      throw new GgufError(
        'block_size_mismatch',
        `tensor ${quote(name)} of type ${info.name}: row of ${ne0} is not a multiple of ${info.blockSize}`,
      );
    }
    const bytes = (elements / BigInt(info.blockSize)) * BigInt(info.typeSize);
    const offset = await src.u64a();
    raw.push({ name, typeId, dims, elements, offset, bytes });
  }

  // --- data section and tensor ranges -------------------------------------------------------
  const headerEnd = src.pos;
  const dataOffset = Math.ceil(headerEnd / alignment) * alignment;
  if (dataOffset > size) {
    throw new GgufError(
      'data_offset_out_of_bounds',
      `data section would start at ${dataOffset}, beyond the file end ${size}`,
    );
  }
  const dataSize = BigInt(size - dataOffset);
  const align = BigInt(alignment);
  for (const t of raw) {
    if (t.offset % align !== 0n) {
      throw new GgufError(
        'misaligned_tensor',
        `tensor ${quote(t.name)} offset ${t.offset} is not a multiple of ${alignment}`,
      );
    }
    if (t.offset > dataSize || t.bytes > dataSize - t.offset) {
      throw new GgufError(
        'tensor_out_of_bounds',
        `tensor ${quote(t.name)} [${t.offset}, +${t.bytes}) exceeds the ${dataSize}-byte data section`,
      );
    }
  }
  const sorted = [...raw].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  let end = 0n;
  let prev = '';
  for (const t of sorted) {
    if (t.offset < end) {
      throw new GgufError(
        'tensors_overlap',
        `tensor ${quote(t.name)} at ${t.offset} overlaps ${quote(prev)} ending at ${end}`,
      );
    }
    end = t.offset + t.bytes;
    prev = t.name;
  }
  // Nothing but tensors and their zero padding, up to the file's last byte (issue 11 §1).
  const layout = checkDataLayout({
    headerEnd,
    dataOffset,
    alignment,
    fileSize: size,
    tensors: sorted,
  });
  await assertZeroPadding(source, layout.padding);

  // --- chat templates -------------------------------------------------------------------------
  if (lim.rejectSuspiciousChatTemplate) {
    const bad = templates.find((t) => t.suspicious);
    if (bad) {
      throw new TemplateRejection(
        `${bad.key}: ${bad.findings.map((f) => f.pattern).join(', ')}`,
        bad.findings,
      );
    }
  }

  const tensors: GgufTensorInfo[] = raw.map((t) => {
    const type = GGML_TYPES.get(t.typeId);
    return {
      name: t.name,
      type: type?.name ?? String(t.typeId),
      typeId: t.typeId,
      dims: t.dims.map(Number),
      elements: Number(t.elements),
      offset: Number(t.offset),
      sizeBytes: Number(t.bytes),
    };
  });

  return {
    ok: true,
    version,
    tensorCount: Number(tensorCount),
    kvCount: Number(kvCount),
    metadata: summarize(scalars, arrayLengths, templates, alignment),
    tensors,
    dataOffset,
    fileSize: size,
    trailingBytes: layout.trailingBytes,
  };
}

/** Reads each padding range (each shorter than the alignment) and refuses a non-zero byte. */
async function assertZeroPadding(
  source: ByteSource,
  ranges: readonly PaddingRange[],
): Promise<void> {
  for (const r of ranges) {
    const bytes = await source.read(r.start, r.end - r.start);
    if (bytes.length < r.end - r.start) {
      throw new GgufError('file_changed', `file ended at ${r.start + bytes.length}`);
    }
    const i = bytes.findIndex((b) => b !== 0);
    if (i >= 0) throw paddingError(r, r.start + i, bytes[i] ?? 0);
  }
}

async function readKey(st: WalkState, index: number): Promise<string> {
  const len = await st.src.u64a();
  if (len === 0n) throw new GgufError('empty_key', `metadata entry #${index} has an empty key`);
  if (len > BigInt(st.limits.maxKeyBytes)) {
    throw new GgufError(
      'key_too_long',
      `metadata entry #${index} key is ${len} bytes > ${st.limits.maxKeyBytes}`,
    );
  }
  const key = decodeUtf8(await st.src.bytes(Number(len)), `metadata entry #${index} key`);
  if (key.includes('\0')) throw new GgufError('invalid_key', `metadata key #${index} contains NUL`);
  return key;
}

async function readStringLength(st: WalkState, key: string, max: number): Promise<number> {
  const len = await st.src.u64a();
  if (len > BigInt(max)) {
    throw new GgufError('string_too_long', `${quote(key)}: string of ${len} bytes > ${max}`);
  }
  return Number(len);
}

async function readTemplate(st: WalkState, key: string): Promise<GgufChatTemplateInfo> {
  const len = await st.src.u64a();
  if (len > BigInt(st.limits.maxChatTemplateBytes)) {
    throw new GgufError(
      'chat_template_too_long',
      `${quote(key)}: template of ${len} bytes > ${st.limits.maxChatTemplateBytes}`,
    );
  }
  const bytes = await st.src.bytes(Number(len));
  const text = decodeUtf8(bytes, `${quote(key)} value`);
  const scan = scanChatTemplate(text);
  return {
    key,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ...scan,
  };
}

/** Reads a scalar value; strings are validated as UTF-8 and kept only when short. */
async function readScalar(
  st: WalkState,
  type: number,
  key: string,
  keep: boolean,
): Promise<Scalar | undefined> {
  const src = st.src;
  if (type === GgufValueType.STRING) {
    const len = await readStringLength(st, key, st.limits.maxStringBytes);
    const bytes = await src.bytes(len);
    const text = decodeUtf8(bytes, `${quote(key)} value`);
    return keep && len <= SUMMARY_STRING_MAX ? text : undefined;
  }
  const width = GGUF_FIXED_VALUE_SIZE.get(type);
  if (width === undefined) {
    throw new GgufError('unknown_value_type', `${quote(key)} has unknown value type ${type}`);
  }
  if (!src.has(width)) await src.ensure(width);
  switch (type) {
    case GgufValueType.UINT8:
      return src.u8();
    case GgufValueType.INT8:
      return src.i8();
    case GgufValueType.UINT16:
      return src.u16();
    case GgufValueType.INT16:
      return src.i16();
    case GgufValueType.UINT32:
      return src.u32();
    case GgufValueType.INT32:
      return src.i32();
    case GgufValueType.FLOAT32:
      return src.f32();
    case GgufValueType.BOOL: {
      const b = src.u8();
      if (b > 1) throw new GgufError('invalid_bool', `${quote(key)}: boolean byte ${b}`);
      return b === 1;
    }
    case GgufValueType.UINT64:
      return src.u64();
    case GgufValueType.INT64:
      return src.i64();
    default:
      return src.f64();
  }
}

/** Walks an array value with bounds; returns its length. `depth` is 1 for a top-level array. */
async function readArray(st: WalkState, key: string, depth: number): Promise<number> {
  const { src, limits } = st;
  if (depth > limits.maxArrayNesting) {
    throw new GgufError(
      'array_nesting_too_deep',
      `${quote(key)}: arrays nested deeper than ${limits.maxArrayNesting}`,
    );
  }
  const elemType = await src.u32a();
  const count = await src.u64a();
  if (count > BigInt(limits.maxArrayLength)) {
    throw new GgufError(
      'array_too_long',
      `${quote(key)}: array of ${count} elements > ${limits.maxArrayLength}`,
    );
  }
  const n = Number(count);
  st.arrayValues += n;
  if (st.arrayValues > limits.maxArrayValuesTotal) {
    throw new GgufError(
      'too_many_array_values',
      `more than ${limits.maxArrayValuesTotal} array values in total`,
    );
  }
  const width = GGUF_FIXED_VALUE_SIZE.get(elemType);
  if (width !== undefined) {
    if (elemType === GgufValueType.BOOL) {
      for (let i = 0; i < n; i++) {
        if (!src.has(1)) await src.ensure(1);
        const b = src.u8();
        if (b > 1) throw new GgufError('invalid_bool', `${quote(key)}[${i}]: boolean byte ${b}`);
      }
    } else {
      src.skip(count * BigInt(width));
    }
    return n;
  }
  if (elemType === GgufValueType.STRING) {
    const max = BigInt(limits.maxStringBytes);
    for (let i = 0; i < n; i++) {
      if (!src.has(8)) await src.ensure(8);
      const len = src.u64();
      if (len > max) {
        throw new GgufError(
          'string_too_long',
          `${quote(key)}[${i}]: string of ${len} bytes > ${limits.maxStringBytes}`,
        );
      }
      src.skip(len);
    }
    return n;
  }
  if (elemType === GgufValueType.ARRAY) {
    for (let i = 0; i < n; i++) await readArray(st, key, depth + 1);
    return n;
  }
  throw new GgufError(
    'unknown_value_type',
    `${quote(key)}: unknown array element type ${elemType}`,
  );
}

function num(v: Scalar | undefined): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

function str(v: Scalar | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function summarize(
  scalars: Map<string, Scalar>,
  arrays: Map<string, number>,
  chatTemplates: GgufChatTemplateInfo[],
  alignment: number,
): GgufMetadataSummary {
  const arch = str(scalars.get('general.architecture'));
  const a = (suffix: string): number | undefined =>
    arch === undefined ? undefined : num(scalars.get(`${arch}.${suffix}`));
  const entries: [keyof GgufMetadataSummary, string | number | undefined][] = [
    ['architecture', arch],
    ['name', str(scalars.get('general.name'))],
    ['fileType', num(scalars.get('general.file_type'))],
    ['quantizationVersion', num(scalars.get('general.quantization_version'))],
    ['contextLength', a('context_length')],
    ['embeddingLength', a('embedding_length')],
    ['blockCount', a('block_count')],
    ['feedForwardLength', a('feed_forward_length')],
    ['headCount', a('attention.head_count')],
    ['headCountKv', a('attention.head_count_kv')],
    ['tokenizerModel', str(scalars.get('tokenizer.ggml.model'))],
    ['tokenizerPre', str(scalars.get('tokenizer.ggml.pre'))],
    ['vocabSize', arrays.get('tokenizer.ggml.tokens')],
    ['mergesCount', arrays.get('tokenizer.ggml.merges')],
    ['bosTokenId', num(scalars.get('tokenizer.ggml.bos_token_id'))],
    ['eosTokenId', num(scalars.get('tokenizer.ggml.eos_token_id'))],
  ];
  const summary: GgufMetadataSummary = { alignment, chatTemplates };
  const target = summary as unknown as Record<string, unknown>;
  for (const [k, v] of entries) if (v !== undefined) target[k] = v;
  return summary;
}
