// GGUF constants, limits and report types (quarantine.md §2.2, §2.6). The limits default to the
// reference's values; where the reference's two parsers disagree the stricter one that still accepts
// every real llama.cpp model wins, and each choice is documented next to its field.

/** GGUF metadata value types (gguf.h `enum gguf_type`). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Byte width of each fixed-size value type; strings and arrays are absent. */
export const GGUF_FIXED_VALUE_SIZE: ReadonlyMap<number, number> = new Map([
  [GgufValueType.UINT8, 1],
  [GgufValueType.INT8, 1],
  [GgufValueType.UINT16, 2],
  [GgufValueType.INT16, 2],
  [GgufValueType.UINT32, 4],
  [GgufValueType.INT32, 4],
  [GgufValueType.FLOAT32, 4],
  [GgufValueType.BOOL, 1],
  [GgufValueType.UINT64, 8],
  [GgufValueType.INT64, 8],
  [GgufValueType.FLOAT64, 8],
]);

export interface GgmlTypeInfo {
  readonly id: number;
  readonly name: string;
  /** Elements per block (1 for plain types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

/**
 * The ggml tensor types we accept (ggml.h `enum ggml_type`, block layouts from ggml-common.h).
 * Removed ids (4, 5 = Q4_2/Q4_3; 31–33 = Q4_0_4_4…; 36–38 = IQ4_NL_4_4…) and anything unknown are
 * rejected.
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [0, 'F32', 1, 4],
      [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 18],
      [3, 'Q4_1', 32, 20],
      [6, 'Q5_0', 32, 22],
      [7, 'Q5_1', 32, 24],
      [8, 'Q8_0', 32, 34],
      [9, 'Q8_1', 32, 36],
      [10, 'Q2_K', 256, 84],
      [11, 'Q3_K', 256, 110],
      [12, 'Q4_K', 256, 144],
      [13, 'Q5_K', 256, 176],
      [14, 'Q6_K', 256, 210],
      [15, 'Q8_K', 256, 292],
      [16, 'IQ2_XXS', 256, 66],
      [17, 'IQ2_XS', 256, 74],
      [18, 'IQ3_XXS', 256, 98],
      [19, 'IQ1_S', 256, 50],
      [20, 'IQ4_NL', 32, 18],
      [21, 'IQ3_S', 256, 110],
      [22, 'IQ2_S', 256, 82],
      [23, 'IQ4_XS', 256, 136],
      [24, 'I8', 1, 1],
      [25, 'I16', 1, 2],
      [26, 'I32', 1, 4],
      [27, 'I64', 1, 8],
      [28, 'F64', 1, 8],
      [29, 'IQ1_M', 256, 56],
      [30, 'BF16', 1, 2],
      [34, 'TQ1_0', 256, 54],
      [35, 'TQ2_0', 256, 66],
      [39, 'MXFP4', 32, 17],
    ] as const
  ).map(([id, name, blockSize, typeSize]) => [id, { id, name, blockSize, typeSize }]),
);

export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  for (const info of GGML_TYPES.values()) if (info.name === name) return info;
  return undefined;
}

export interface GgufLimits {
  /** Reference in-repo walk: 200,000 (gguf-guard: 100,000). */
  maxTensors: number;
  /** Both reference parsers require at least one tensor. */
  minTensors: number;
  /** Reference: 10,000 metadata entries. */
  maxKvs: number;
  /** Reference: keys ≤ 1,024 bytes. */
  maxKeyBytes: number;
  /** gguf-guard: strings ≤ 10 MiB. */
  maxStringBytes: number;
  /** Reference: chat templates ≤ 1,000,000 bytes. */
  maxChatTemplateBytes: number;
  /** Reference: string arrays ≤ 2,000,000 entries (applied to every array). */
  maxArrayLength: number;
  /** Aggregate number of array elements over the whole header (gguf-guard bounds it too). */
  maxArrayValuesTotal: number;
  /** Array nesting depth: 1 = arrays of scalars only (reference and llama.cpp), up to 8. */
  maxArrayNesting: number;
  /** gguf-guard: header ≤ 256 MiB. */
  maxHeaderBytes: number;
  /** Reference: tensor names ≤ 4,096 bytes (llama.cpp itself stops at 63). */
  maxTensorNameBytes: number;
  /** Aggregate bytes of all tensor names, so 200,000 long names cannot pin a gigabyte. */
  maxTensorNamesTotalBytes: number;
  /** ggml tensors have at most 4 dimensions (GGML_MAX_DIMS). */
  maxRank: number;
  /** Reference: general.alignment ≤ 4,096. */
  maxAlignment: number;
  /** The format gate fails a template that matches the injection patterns. */
  rejectSuspiciousChatTemplate: boolean;
}

export const DEFAULT_GGUF_LIMITS: Readonly<GgufLimits> = Object.freeze({
  maxTensors: 200_000,
  minTensors: 1,
  maxKvs: 10_000,
  maxKeyBytes: 1_024,
  maxStringBytes: 10 * 1024 * 1024,
  maxChatTemplateBytes: 1_000_000,
  maxArrayLength: 2_000_000,
  maxArrayValuesTotal: 8_000_000,
  maxArrayNesting: 1,
  maxHeaderBytes: 256 * 1024 * 1024,
  maxTensorNameBytes: 4_096,
  maxTensorNamesTotalBytes: 16 * 1024 * 1024,
  maxRank: 4,
  maxAlignment: 4_096,
  rejectSuspiciousChatTemplate: true,
});

export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Stable rejection codes. */
export type GgufRejection =
  | 'not_regular_file'
  | 'file_changed'
  | 'truncated'
  | 'bad_magic'
  | 'unsupported_version'
  | 'too_many_tensors'
  | 'no_tensors'
  | 'too_many_kvs'
  | 'header_too_large'
  | 'empty_key'
  | 'key_too_long'
  | 'invalid_key'
  | 'duplicate_key'
  | 'invalid_utf8'
  | 'string_too_long'
  | 'unknown_value_type'
  | 'invalid_bool'
  | 'array_too_long'
  | 'too_many_array_values'
  | 'array_nesting_too_deep'
  | 'bad_metadata_type'
  | 'bad_alignment'
  | 'chat_template_too_long'
  | 'suspicious_chat_template'
  | 'empty_tensor_name'
  | 'tensor_name_too_long'
  | 'tensor_names_too_large'
  | 'duplicate_tensor_name'
  | 'bad_rank'
  | 'zero_dimension'
  | 'dimension_overflow'
  | 'unknown_ggml_type'
  | 'block_size_mismatch'
  | 'data_offset_out_of_bounds'
  | 'misaligned_tensor'
  | 'tensor_out_of_bounds'
  | 'tensors_overlap'
  /** A tensor starts beyond the zero padding after the previous one (bytes no tensor owns). */
  | 'tensor_gap'
  /** A byte after the last tensor's data other than zero padding to the alignment. */
  | 'trailing_data'
  /** A non-zero byte in the padding after the header or between tensors. */
  | 'nonzero_padding';

export interface ChatTemplateFinding {
  pattern: string;
  excerpt: string;
}

export interface ChatTemplateScan {
  suspicious: boolean;
  findings: ChatTemplateFinding[];
}

export interface GgufChatTemplateInfo extends ChatTemplateScan {
  key: string;
  /** Length in bytes (UTF-8). */
  bytes: number;
  /** sha256 of the template bytes, lower-case hex. */
  sha256: string;
}

/** A bounded subset of the metadata, enough for the registry and the behavioural stage. */
export interface GgufMetadataSummary {
  architecture?: string;
  name?: string;
  fileType?: number;
  quantizationVersion?: number;
  alignment: number;
  contextLength?: number;
  embeddingLength?: number;
  blockCount?: number;
  feedForwardLength?: number;
  headCount?: number;
  headCountKv?: number;
  tokenizerModel?: string;
  tokenizerPre?: string;
  vocabSize?: number;
  mergesCount?: number;
  bosTokenId?: number;
  eosTokenId?: number;
  chatTemplates: GgufChatTemplateInfo[];
}

export interface GgufTensorInfo {
  name: string;
  /** ggml type name, e.g. 'F32', 'Q4_K'. */
  type: string;
  typeId: number;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  elements: number;
  /** Relative to dataOffset. */
  offset: number;
  sizeBytes: number;
}

export interface GgufAccepted {
  ok: true;
  version: 2 | 3;
  tensorCount: number;
  kvCount: number;
  metadata: GgufMetadataSummary;
  tensors: GgufTensorInfo[];
  /** Absolute offset of the (aligned) tensor data section. */
  dataOffset: number;
  fileSize: number;
  /** Zero padding after the last tensor (below the alignment; any other trailing byte is refused). */
  trailingBytes: number;
}

export interface GgufRejected {
  ok: false;
  reason: GgufRejection;
  detail: string;
  /** Present when reason is 'suspicious_chat_template'. */
  findings?: ChatTemplateFinding[];
}

export type GgufReport = GgufAccepted | GgufRejected;
