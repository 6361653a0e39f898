// The readers' structural bounds as policy (`quarantine.format_gate`, issue 11 §4): one flat
// record of numbers, named after the readers' own `limits` options with the reader in front
// (`ggufMaxTensors` is GgufLimits.maxTensors; policy spells it `gguf_max_tensors`). Defaults are
// the readers' own, so a policy without the key behaves exactly as before. Every stage that reads
// a model's structure gets the same bounds (format gate, static scan, diffusion scan, behavioural
// test), so a file the gate admits is one the later stages can read.
//
// Each value has a closed range. Ceilings are where a larger bound stops being a bound: ggml has
// at most 4 dimensions; the polyglot detector recognises a safetensors header only up to 100 MiB,
// so the safetensors reader may not allow more; counts and sizes stop at a few times the
// reference's value. Booleans (requireData, requireSingleLink, rejectSuspiciousChatTemplate) are
// not thresholds and stay on.
import {
  DEFAULT_DIFFUSERS_LIMITS,
  DEFAULT_GGUF_LIMITS,
  DEFAULT_POLYGLOT_READ,
  DEFAULT_SAFETENSORS_LIMITS,
  type DiffusersLimits,
  type GgufLimits,
  type PolyglotFileOptions,
  type SafetensorsLimits,
} from '@secai/formats';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

type NumericKeys<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T];

/** What detectPolyglotFile reads of a file's head and tail unless told (the reader's own default). */
const DEFAULT_POLYGLOT = DEFAULT_POLYGLOT_READ;

interface Bound<R, K> {
  reader: R;
  option: K;
  min: number;
  max: number;
}
type AnyBound =
  | Bound<'gguf', NumericKeys<GgufLimits>>
  | Bound<'safetensors', NumericKeys<SafetensorsLimits>>
  | Bound<'diffusers', NumericKeys<DiffusersLimits>>
  | Bound<'polyglot', keyof typeof DEFAULT_POLYGLOT>;

const gguf = (option: NumericKeys<GgufLimits>, min: number, max: number): AnyBound => ({
  reader: 'gguf',
  option,
  min,
  max,
});
const st = (option: NumericKeys<SafetensorsLimits>, min: number, max: number): AnyBound => ({
  reader: 'safetensors',
  option,
  min,
  max,
});
const dir = (option: NumericKeys<DiffusersLimits>, min: number, max: number): AnyBound => ({
  reader: 'diffusers',
  option,
  min,
  max,
});
const poly = (option: keyof typeof DEFAULT_POLYGLOT, min: number, max: number): AnyBound => ({
  reader: 'polyglot',
  option,
  min,
  max,
});

/** Every bound policy may set: its name, the reader option it sets, its range (integers). */
export const FORMAT_LIMIT_BOUNDS = Object.freeze({
  ggufMaxTensors: gguf('maxTensors', 1, 1_000_000),
  ggufMinTensors: gguf('minTensors', 1, 1_000_000),
  ggufMaxKvs: gguf('maxKvs', 1, 100_000),
  ggufMaxKeyBytes: gguf('maxKeyBytes', 1, 64 * KiB),
  ggufMaxStringBytes: gguf('maxStringBytes', 1, 256 * MiB),
  ggufMaxChatTemplateBytes: gguf('maxChatTemplateBytes', 1, 16 * MiB),
  ggufMaxArrayLength: gguf('maxArrayLength', 1, 16_000_000),
  ggufMaxArrayValuesTotal: gguf('maxArrayValuesTotal', 1, 64_000_000),
  ggufMaxArrayNesting: gguf('maxArrayNesting', 1, 8),
  ggufMaxHeaderBytes: gguf('maxHeaderBytes', 1, 1 * GiB),
  ggufMaxTensorNameBytes: gguf('maxTensorNameBytes', 1, 64 * KiB),
  ggufMaxTensorNamesTotalBytes: gguf('maxTensorNamesTotalBytes', 1, 256 * MiB),
  ggufMaxRank: gguf('maxRank', 1, 4),
  ggufMaxAlignment: gguf('maxAlignment', 1, 64 * KiB),
  safetensorsMaxHeaderBytes: st('maxHeaderBytes', 2, 100 * MiB),
  safetensorsMaxTensors: st('maxTensors', 1, 1_000_000),
  safetensorsMaxNameBytes: st('maxNameBytes', 1, 64 * KiB),
  safetensorsMaxRank: st('maxRank', 1, 64),
  safetensorsMaxMetadataEntries: st('maxMetadataEntries', 0, 1_000_000),
  safetensorsMaxMetadataValueBytes: st('maxMetadataValueBytes', 0, 100 * MiB),
  safetensorsMaxJsonDepth: st('maxJsonDepth', 1, 256),
  safetensorsMaxJsonTokens: st('maxJsonTokens', 1, 16_000_000),
  diffusersMaxEntries: dir('maxEntries', 1, 1_000_000),
  diffusersMaxFiles: dir('maxFiles', 1, 1_000_000),
  diffusersMaxDepth: dir('maxDepth', 1, 256),
  diffusersMaxPathBytes: dir('maxPathBytes', 1, 64 * KiB),
  diffusersMaxFileBytes: dir('maxFileBytes', 1, 1 * TiB),
  diffusersMaxTotalBytes: dir('maxTotalBytes', 1, 4 * TiB),
  diffusersMaxIndexBytes: dir('maxIndexBytes', 1, 64 * MiB),
  diffusersMaxJsonBytes: dir('maxJsonBytes', 1, 1 * GiB),
  diffusersMaxTextBytes: dir('maxTextBytes', 1, 1 * GiB),
  diffusersMaxSentencePieceBytes: dir('maxSentencePieceBytes', 1, 1 * GiB),
  diffusersMaxSentencePieces: dir('maxSentencePieces', 1, 16_000_000),
  diffusersMaxJsonNodes: dir('maxJsonNodes', 1, 64_000_000),
  polyglotHeadBytes: poly('headBytes', 4 * KiB, 64 * MiB),
  polyglotTailBytes: poly('tailBytes', 4 * KiB, 64 * MiB),
} satisfies Record<string, AnyBound>);

export type FormatLimitName = keyof typeof FORMAT_LIMIT_BOUNDS;
export type FormatLimits = Record<FormatLimitName, number>;

function readerDefault(b: AnyBound): number {
  switch (b.reader) {
    case 'gguf':
      return DEFAULT_GGUF_LIMITS[b.option];
    case 'safetensors':
      return DEFAULT_SAFETENSORS_LIMITS[b.option];
    case 'diffusers':
      return DEFAULT_DIFFUSERS_LIMITS[b.option];
    case 'polyglot':
      return DEFAULT_POLYGLOT[b.option];
  }
}

/** The readers' own defaults, under the policy's names. */
export const DEFAULT_FORMAT_LIMITS: Readonly<FormatLimits> = Object.freeze(
  Object.fromEntries(
    Object.entries(FORMAT_LIMIT_BOUNDS).map(([name, b]) => [name, readerDefault(b)]),
  ) as FormatLimits,
);

export type FormatLimitsParse =
  | { ok: true; limits: FormatLimits }
  /** `key` as given; `detail` names it. */
  | { ok: false; key?: string; detail: string };

/**
 * Defaults overridden by `raw` (a plain object of numbers; undefined means all defaults). An
 * unknown name, a value that is not an integer in its range, or a minimum above its maximum is
 * refused: a typo in a bound must not silently leave the reader unbounded or refuse everything.
 */
export function parseFormatLimits(raw: unknown): FormatLimitsParse {
  const limits: FormatLimits = { ...DEFAULT_FORMAT_LIMITS };
  if (raw === undefined || raw === null) return { ok: true, limits };
  if (typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, detail: 'format limits must be an object of numbers' };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!Object.hasOwn(FORMAT_LIMIT_BOUNDS, key))
      return { ok: false, key, detail: `unknown format limit ${JSON.stringify(key.slice(0, 64))}` };
    const name = key as FormatLimitName;
    const { min, max } = FORMAT_LIMIT_BOUNDS[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
      return { ok: false, key, detail: `${name} must be an integer in [${min}, ${max}]` };
    limits[name] = value;
  }
  if (limits.ggufMinTensors > limits.ggufMaxTensors)
    return {
      ok: false,
      key: 'ggufMinTensors',
      detail: `ggufMinTensors (${limits.ggufMinTensors}) is above ggufMaxTensors (${limits.ggufMaxTensors})`,
    };
  return { ok: true, limits };
}

/** What each reader's `limits` (or options) argument gets. */
export interface ReaderLimits {
  gguf: Partial<GgufLimits>;
  safetensors: Partial<SafetensorsLimits>;
  /** Its safetensors files are read with the same bounds as a single safetensors file. */
  diffusers: Partial<DiffusersLimits>;
  polyglot: PolyglotFileOptions;
}

export function readerLimitsOf(limits: FormatLimits): ReaderLimits {
  const out = {
    gguf: {} as Record<string, number>,
    safetensors: {} as Record<string, number>,
    diffusers: {} as Record<string, number>,
    polyglot: {} as Record<string, number>,
  };
  for (const [name, b] of Object.entries(FORMAT_LIMIT_BOUNDS) as [FormatLimitName, AnyBound][])
    out[b.reader][b.option] = limits[name];
  const safetensors = out.safetensors as Partial<SafetensorsLimits>;
  return {
    gguf: out.gguf,
    safetensors,
    diffusers: { ...(out.diffusers as Partial<DiffusersLimits>), safetensors },
    polyglot: out.polyglot,
  };
}
