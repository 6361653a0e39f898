// Test fixtures for the format parsers: writers of valid and malicious safetensors files, hand
// assembled pickle byte streams (each documented opcode by opcode), zip archives (torch.save
// layout) and diffusers directories. Used by unit tests here and by the stage tests later.
import { link, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';

const enc = new TextEncoder();

export function concatBytes(
  ...parts: readonly (Uint8Array | string | number | readonly number[])[]
): Uint8Array {
  const chunks = parts.map((p) =>
    typeof p === 'string'
      ? Uint8Array.from(p, (c) => c.charCodeAt(0) & 0xff) // latin1: one byte per char
      : typeof p === 'number'
        ? Uint8Array.of(p)
        : Uint8Array.from(p),
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
function u16le(n: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, true);
  return b;
}
function u64le(n: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** Deterministic pseudo-random bytes (xorshift32), for tensor payloads and fuzzing. */
export function seededBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A small seeded PRNG for mutation tests. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

// --- safetensors ---------------------------------------------------------------------------------

/** Raw safetensors: u64 LE header length, the header text as given (no validation), the data. */
export function encodeSafetensors(
  header: string | object,
  data: Uint8Array | number,
  headerLength?: number,
): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = enc.encode(text);
  const body = typeof data === 'number' ? seededBytes(data, 7) : data;
  return concatBytes(u64le(headerLength ?? h.length), h, body);
}

export interface FixtureTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** A valid safetensors file: tensors laid out back to back, header space-padded to 8 bytes. */
export function buildSafetensors(
  tensors: readonly FixtureTensor[],
  metadata?: Readonly<Record<string, string>>,
  payload?: Uint8Array,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[t.dtype] ?? 1);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + size] };
    at += size;
  }
  let text = JSON.stringify(header);
  while ((8 + text.length) % 8 !== 0) text += ' ';
  return encodeSafetensors(text, payload ?? trainedLikePayload(tensors, at));
}

/**
 * Tensor bytes that look like trained weights to the static scan: F32/F16/BF16 values roughly
 * normal with sd 0.02 (random bytes read as floats are huge, NaN or Inf, and rightly flagged),
 * other dtypes seeded bytes.
 */
function trainedLikePayload(tensors: readonly FixtureTensor[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const random = seededRandom(3);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let at = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    const width = DTYPE_BYTES[t.dtype] ?? 1;
    for (let i = 0; i < count; i++, at += width) {
      f32[0] = (random() + random() + random() - 1.5) * 0.04;
      if (t.dtype === 'F32') view.setFloat32(at, f32[0], true);
      else if (t.dtype === 'BF16') view.setUint16(at, u32[0]! >>> 16, true);
      else if (t.dtype === 'F16') view.setUint16(at, toHalf(f32[0]), true);
      else out.set(seededBytes(width, at + 1), at);
    }
  }
  return out;
}

/** IEEE half precision of a small float (normal range only; enough for weights in ±1). */
function toHalf(value: number): number {
  if (value === 0) return 0;
  const sign = value < 0 ? 0x8000 : 0;
  const abs = Math.abs(value);
  const exp = Math.floor(Math.log2(abs));
  if (exp < -14) return sign; // flushed to zero
  const mantissa = Math.round((abs / 2 ** exp - 1) * 1024);
  return sign | ((exp + 15) << 10) | (mantissa & 0x3ff);
}

export const SMALL_TENSORS: readonly FixtureTensor[] = [
  { name: 'embed.weight', dtype: 'F32', shape: [4, 8] },
  { name: 'norm.bias', dtype: 'F16', shape: [8] },
  { name: 'mask', dtype: 'BOOL', shape: [2, 3] },
];

const t = (dtype: string, shape: readonly number[], b: number, e: number): object => ({
  dtype,
  shape,
  data_offsets: [b, e],
});

/** Each malicious variant and the reason code `inspectSafetensors` must return for it. */
export function safetensorsVariants(): Record<
  string,
  { bytes: Uint8Array; reason: string | null }
> {
  return {
    valid: { bytes: buildSafetensors(SMALL_TENSORS, { format: 'pt' }), reason: null },
    // Length prefix claims 200 MiB (the limit is 100 MiB).
    headerTooBig: {
      bytes: encodeSafetensors('{}', 0, 200 * 1024 * 1024),
      reason: 'header_length_out_of_bounds',
    },
    headerTooSmall: { bytes: encodeSafetensors('{', 0), reason: 'header_length_out_of_bounds' },
    headerBeyondFile: {
      bytes: encodeSafetensors('{"a":1}', 0, 4096),
      reason: 'header_exceeds_file',
    },
    shortFile: { bytes: Uint8Array.of(1, 2, 3), reason: 'file_too_short' },
    // The same tensor name twice: JSON.parse would silently keep the last.
    duplicateKeys: {
      bytes: encodeSafetensors(
        '{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}',
        8,
      ),
      reason: 'header_duplicate_key',
    },
    gap: {
      bytes: encodeSafetensors({ a: t('U8', [4], 0, 4), b: t('U8', [4], 8, 12) }, 12),
      reason: 'tensor_gap',
    },
    holeAtStart: { bytes: encodeSafetensors({ a: t('U8', [4], 4, 8) }, 8), reason: 'tensor_gap' },
    overlap: {
      bytes: encodeSafetensors({ a: t('U8', [8], 0, 8), b: t('U8', [4], 4, 8) }, 8),
      reason: 'tensor_overlap',
    },
    wrongByteSize: {
      bytes: encodeSafetensors({ a: t('F32', [4], 0, 8) }, 8),
      reason: 'byte_size_mismatch',
    },
    badDtype: {
      bytes: encodeSafetensors({ a: t('F128', [1], 0, 16) }, 16),
      reason: 'dtype_invalid',
    },
    trailingBytes: {
      bytes: encodeSafetensors({ a: t('U8', [4], 0, 4) }, 10),
      reason: 'trailing_data',
    },
    metadataNonString: {
      bytes: encodeSafetensors({ __metadata__: { format: 1 }, a: t('U8', [4], 0, 4) }, 4),
      reason: 'metadata_invalid',
    },
    extraKey: {
      bytes: encodeSafetensors({ a: { ...t('U8', [4], 0, 4), exec: 'x' } }, 4),
      reason: 'tensor_entry_invalid',
    },
    negativeDim: {
      bytes: encodeSafetensors({ a: t('U8', [-4], 0, 4) }, 4),
      reason: 'shape_invalid',
    },
    floatDim: {
      bytes: encodeSafetensors('{"a":{"dtype":"U8","shape":[4.0],"data_offsets":[0,4]}}', 4),
      reason: 'shape_invalid',
    },
    // 2^32 × 2^32 × 2 elements overflows 64 bits.
    overflowShape: {
      bytes: encodeSafetensors(
        '{"a":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,4]}}',
        4,
      ),
      reason: 'shape_invalid',
    },
    rankTooHigh: {
      bytes: encodeSafetensors({ a: t('U8', new Array<number>(33).fill(1), 0, 1) }, 1),
      reason: 'shape_invalid',
    },
    offsetsPastData: {
      bytes: encodeSafetensors({ a: t('U8', [4], 0, 4) }, 2),
      reason: 'offsets_invalid',
    },
    notUtf8: {
      bytes: concatBytes(u64le(8), [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      reason: 'header_not_utf8',
    },
    notObject: { bytes: encodeSafetensors('[1, 2]', 0), reason: 'header_not_object' },
    invalidJson: { bytes: encodeSafetensors('{"a":}', 0), reason: 'header_invalid_json' },
    noTensors: { bytes: encodeSafetensors('{}', 0), reason: 'no_tensor_data' },
    emptyName: {
      bytes: encodeSafetensors({ '': t('U8', [4], 0, 4) }, 4),
      reason: 'tensor_name_invalid',
    },
    tooDeep: {
      bytes: encodeSafetensors(`{"__metadata__":${'['.repeat(70)}${']'.repeat(70)}}`, 0),
      reason: 'header_too_complex',
    },
  };
}

// --- pickle streams --------------------------------------------------------------------------------
// Opcode bytes used below (pickletools names):
//   0x80 PROTO n   0x95 FRAME u64   0x8c SHORT_BINUNICODE u8-len   X BINUNICODE u32-len
//   0x94 MEMOIZE   q BINPUT u8      h BINGET u8   c GLOBAL "mod\nname\n"   0x93 STACK_GLOBAL
//   ( MARK   t TUPLE   ) EMPTY_TUPLE   0x85 TUPLE1   0x86 TUPLE2   R REDUCE   b BUILD   . STOP
//   } EMPTY_DICT   s SETITEM   K BININT1   Q BINPERSID   0x89 NEWFALSE   i INST   0 POP

export const PICKLES = {
  /** Protocol 0 `os.system('id')`: GLOBAL 'os system', MARK, STRING 'id', TUPLE, REDUCE, STOP. */
  osSystemGlobal: concatBytes('cos\nsystem\n', '(', "S'id'\n", 't', 'R', '.'),

  /**
   * Protocol 4 `os.system('id')` the way pickle.dumps writes it: PROTO 4, FRAME, the module and
   * name pushed as SHORT_BINUNICODE (each memoized), STACK_GLOBAL, the argument, TUPLE1, REDUCE.
   */
  osSystemStackGlobal: concatBytes(
    [0x80, 4], // PROTO 4
    [0x95],
    u64le(26), // FRAME of 26 bytes
    [0x8c, 2],
    'os',
    [0x94], // SHORT_BINUNICODE 'os', MEMOIZE
    [0x8c, 6],
    'system',
    [0x94], // SHORT_BINUNICODE 'system', MEMOIZE
    [0x93, 0x94], // STACK_GLOBAL, MEMOIZE
    [0x8c, 2],
    'id',
    [0x94], // SHORT_BINUNICODE 'id', MEMOIZE
    [0x85, 0x94], // TUPLE1, MEMOIZE
    'R',
    [0x94],
    '.', // REDUCE, MEMOIZE, STOP
  ),

  /**
   * STACK_GLOBAL whose strings come back from the memo after the stack was emptied:
   * 'posix' → BINPUT 0, POP; 'system' → BINPUT 1, POP; BINGET 0, BINGET 1, STACK_GLOBAL …
   */
  memoStackGlobal: concatBytes(
    [0x80, 4],
    [0x8c, 5],
    'posix',
    'q',
    [0],
    '0', // SHORT_BINUNICODE 'posix', BINPUT 0, POP
    [0x8c, 6],
    'system',
    'q',
    [1],
    '0', // SHORT_BINUNICODE 'system', BINPUT 1, POP
    'h',
    [0],
    'h',
    [1],
    [0x93], // BINGET 0, BINGET 1, STACK_GLOBAL
    [0x8c, 2],
    'id',
    [0x85],
    'R',
    '.', // 'id', TUPLE1, REDUCE, STOP
  ),

  /** Protocol 2 `builtins.eval('print(1)')`: GLOBAL, BINPUT, BINUNICODE, TUPLE1, REDUCE, STOP. */
  builtinsEvalReduce: concatBytes(
    [0x80, 2],
    'cbuiltins\neval\n',
    'q',
    [0],
    'X',
    u32le(8),
    'print(1)',
    'q',
    [1],
    [0x85],
    'q',
    [2],
    'R',
    'q',
    [3],
    '.',
  ),

  /** Protocol 0 INST: MARK, STRING 'id', INST subprocess.check_output, STOP. */
  subprocessInst: concatBytes('(', "S'id'\n", 'isubprocess\ncheck_output\n', '.'),

  /** STACK_GLOBAL whose module is not a literal string (NONE): unresolvable. */
  unresolvedStackGlobal: concatBytes([0x80, 4], 'N', [0x8c, 6], 'system', [0x93], ')', 'R', '.'),

  /** EXT1 code 1 (copyreg extension registry), EMPTY_TUPLE, REDUCE, STOP. */
  extensionRegistry: concatBytes([0x80, 2], [0x82, 1], ')', 'R', '.'),

  /** Protocol 0 list [1, 2]: MARK, LIST, PUT 0, INT 1, APPEND, INT 2, APPEND, STOP. */
  benignList: concatBytes('(lp0\n', 'I1\n', 'a', 'I2\n', 'a', '.'),

  /**
   * The data.pkl of `torch.save({'weight': tensor})` (protocol 2), simplified:
   *   EMPTY_DICT; BINUNICODE 'weight';
   *   GLOBAL torch._utils._rebuild_tensor_v2; MARK
   *     MARK BINUNICODE 'storage' GLOBAL torch.FloatStorage BINUNICODE '0' BINUNICODE 'cpu'
   *          BININT1 4 TUPLE; BINPERSID           (persistent storage reference)
   *     BININT1 0; (2,2) TUPLE2; (2,1) TUPLE2; NEWFALSE
   *     GLOBAL collections.OrderedDict EMPTY_TUPLE REDUCE
   *   TUPLE; REDUCE; SETITEM; STOP
   */
  torchRebuildTensor: concatBytes(
    [0x80, 2],
    '}',
    'q',
    [0],
    'X',
    u32le(6),
    'weight',
    'q',
    [1],
    'ctorch._utils\n_rebuild_tensor_v2\n',
    'q',
    [2],
    '(',
    '(',
    'X',
    u32le(7),
    'storage',
    'q',
    [3],
    'ctorch\nFloatStorage\n',
    'q',
    [4],
    'X',
    u32le(1),
    '0',
    'X',
    u32le(3),
    'cpu',
    'K',
    [4],
    't',
    'q',
    [5],
    'Q',
    'K',
    [0],
    'K',
    [2],
    'K',
    [2],
    [0x86],
    'K',
    [2],
    'K',
    [1],
    [0x86],
    [0x89],
    'ccollections\nOrderedDict\n',
    ')',
    'R',
    'q',
    [6],
    't',
    'q',
    [7],
    'R',
    'q',
    [8],
    's',
    '.',
  ),
} as const;

/** The torch pickle cut in the middle of its opcode stream. */
export function truncatedPickle(): Uint8Array {
  return PICKLES.torchRebuildTensor.subarray(0, 40);
}

// --- zip -------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
  readonly deflate?: boolean;
}

/**
 * A minimal zip archive. `baseOffset` is where the archive will start inside a larger file, so
 * that the central directory offsets are right for the polyglot (zip readers then accept it).
 */
export function buildZip(entries: readonly ZipEntry[], baseOffset = 0): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let at = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const body = e.deflate === true ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data);
    const method = e.deflate === true ? 8 : 0;
    const common = concatBytes(
      u16le(20),
      u16le(0),
      u16le(method),
      u16le(0),
      u16le(0x21),
      u32le(crc),
      u32le(body.length),
      u32le(e.data.length),
      u16le(name.length),
    );
    const local = concatBytes([0x50, 0x4b, 0x03, 0x04], common, u16le(0), name, body);
    centrals.push(
      concatBytes(
        [0x50, 0x4b, 0x01, 0x02],
        u16le(20),
        common,
        u16le(0),
        u16le(0),
        u16le(0),
        u16le(0),
        u32le(0),
        u32le(baseOffset + at),
        name,
      ),
    );
    locals.push(local);
    at += local.length;
  }
  const cd = concatBytes(...centrals);
  const eocd = concatBytes(
    [0x50, 0x4b, 0x05, 0x06],
    u16le(0),
    u16le(0),
    u16le(entries.length),
    u16le(entries.length),
    u32le(cd.length),
    u32le(baseOffset + at),
    u16le(0),
  );
  return concatBytes(...locals, cd, eocd);
}

/** A torch.save-style archive holding `pickle` as archive/data.pkl. */
export function buildTorchZip(
  pickle: Uint8Array = PICKLES.osSystemStackGlobal,
  deflate = false,
  baseOffset = 0,
): Uint8Array {
  return buildZip(
    [
      { name: 'archive/data.pkl', data: pickle, deflate },
      { name: 'archive/version', data: enc.encode('3\n') },
    ],
    baseOffset,
  );
}

/**
 * A valid safetensors file whose only tensor (U8) is a torch zip: the tensors tile the file and
 * the zip's end-of-central-directory record is the last thing in the file.
 */
export function safetensorsZipPolyglot(
  pickle: Uint8Array = PICKLES.osSystemStackGlobal,
): Uint8Array {
  // The header length does not depend on the zip length's digits only if we fix it: pad to 128.
  const build = (zipLen: number): string => {
    let h = JSON.stringify({
      payload: { dtype: 'U8', shape: [zipLen], data_offsets: [0, zipLen] },
    });
    while (h.length < 128) h += ' ';
    return h;
  };
  const probe = buildTorchZip(pickle, false, 8 + 128);
  const header = build(probe.length);
  return encodeSafetensors(header, probe);
}

// --- diffusers ---------------------------------------------------------------------------------------

export type DiffusersVariant =
  | 'valid'
  | 'pickleBin'
  | 'symlink'
  | 'hardlink'
  | 'missingComponent'
  | 'badJson'
  | 'urlInConfig'
  | 'hiddenFile'
  | 'customPipeline'
  | 'unexpectedDirectory'
  | 'badSafetensors'
  | 'noIndex';

export const DIFFUSERS_INDEX = {
  _class_name: 'StableDiffusionPipeline',
  _diffusers_version: '0.30.0',
  feature_extractor: [null, null],
  safety_checker: [null, null],
  requires_safety_checker: false,
  scheduler: ['diffusers', 'PNDMScheduler'],
  text_encoder: ['transformers', 'CLIPTextModel'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'UNet2DConditionModel'],
  vae: ['diffusers', 'AutoencoderKL'],
};

/** Writes a small diffusers pipeline directory at `root`, then applies the variant's defect. */
export async function writeDiffusersDir(
  root: string,
  variant: DiffusersVariant = 'valid',
): Promise<void> {
  await mkdir(root, { recursive: true });
  const w = async (rel: string, data: Uint8Array | string): Promise<void> => {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), data);
  };
  const index: Record<string, unknown> = { ...DIFFUSERS_INDEX };
  if (variant === 'customPipeline') index.custom_pipeline = 'evil_pipeline';
  if (variant !== 'noIndex') await w('model_index.json', JSON.stringify(index, null, 2));
  await w(
    'scheduler/scheduler_config.json',
    JSON.stringify({
      _class_name: 'PNDMScheduler',
      num_train_timesteps: 1000,
      beta_start: 0.00085,
    }),
  );
  await w(
    'unet/config.json',
    variant === 'badJson'
      ? '{"sample_size": 64,'
      : JSON.stringify({ _class_name: 'UNet2DConditionModel', sample_size: 64 }),
  );
  await w(
    'unet/diffusion_pytorch_model.safetensors',
    variant === 'badSafetensors'
      ? (safetensorsVariants().gap?.bytes ?? new Uint8Array())
      : buildSafetensors(SMALL_TENSORS, { format: 'pt' }),
  );
  await w(
    'vae/config.json',
    JSON.stringify({
      _class_name: 'AutoencoderKL',
      latent_channels: 4,
      ...(variant === 'urlInConfig' ? { note: 'see https://evil.example/x' } : {}),
    }),
  );
  await w(
    'vae/diffusion_pytorch_model.safetensors',
    buildSafetensors([{ name: 'decoder.conv.weight', dtype: 'F16', shape: [4, 4] }]),
  );
  await w(
    'text_encoder/config.json',
    JSON.stringify({ architectures: ['CLIPTextModel'], hidden_size: 768 }),
  );
  await w(
    'text_encoder/model.safetensors',
    buildSafetensors([{ name: 'embeddings.weight', dtype: 'BF16', shape: [16, 4] }]),
  );
  await w(
    'tokenizer/vocab.json',
    JSON.stringify({ '<|startoftext|>': 0, '<|endoftext|>': 1, a: 2 }),
  );
  await w('tokenizer/merges.txt', '#version: 0.2\na b\n');
  await w('tokenizer/tokenizer_config.json', JSON.stringify({ model_max_length: 77 }));
  switch (variant) {
    case 'pickleBin':
      await w('unet/diffusion_pytorch_model.bin', buildTorchZip());
      break;
    case 'symlink':
      await symlink(
        '../unet/diffusion_pytorch_model.safetensors',
        join(root, 'vae/linked.safetensors'),
      );
      break;
    case 'hardlink':
      await link(join(root, 'unet/config.json'), join(root, 'unet/config_copy.json'));
      break;
    case 'missingComponent':
      await rm(join(root, 'scheduler'), { recursive: true });
      break;
    case 'hiddenFile':
      await w('.git/config', '[core]\n');
      break;
    case 'unexpectedDirectory':
      await w('extras/readme.txt', 'hello\n');
      break;
    default:
      break;
  }
}

/** A minimal valid SentencePiece ModelProto: pieces, one trainer spec, one normalizer spec. */
export function buildSentencePiece(pieces: readonly string[] = ['<unk>', '▁a', 'b']): Uint8Array {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      out.push(b);
    } while (n > 0);
    return out;
  };
  const field = (num: number, body: Uint8Array): Uint8Array =>
    concatBytes(varint((num << 3) | 2), varint(body.length), body);
  const parts: Uint8Array[] = [];
  for (const p of pieces) {
    const s = enc.encode(p);
    const piece = concatBytes(
      varint((1 << 3) | 2),
      varint(s.length),
      s,
      [(2 << 3) | 5],
      [0, 0, 0x80, 0xbf],
    );
    parts.push(field(1, piece));
  }
  parts.push(field(2, concatBytes([0x08, 0x01]))); // trainer spec: field 1 varint 1
  parts.push(field(3, concatBytes([0x0a, 0x03], 'nfc'))); // normalizer spec: name "nfc"
  return concatBytes(...parts);
}
