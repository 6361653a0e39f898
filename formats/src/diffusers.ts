// Diffusers directory inspection (quarantine.md §2.2.2 format gate and §2.8 deep scan): the tree
// walk with its bounds, the model_index.json rules, per-file checks by suffix (safetensors
// headers, bounded JSON with a code/URL scan, strict text, SentencePiece protobuf structure) and
// the component/directory cross-checks. All issues are collected; nothing here throws.
import { directorySource } from './fileSource.js';
import {
  decodeUtf8Strict,
  parseBoundedJson,
  type JsonParseResult,
  type JsonValue,
} from './json.js';
import { inspectSafetensorsFile, type SafetensorsLimits } from './safetensors.js';
import type { DirectorySource, EntryFacts, FileSource } from './source.js';

export interface DiffusersLimits {
  readonly maxEntries: number;
  readonly maxFiles: number;
  readonly maxDepth: number;
  readonly maxPathBytes: number;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
  readonly maxIndexBytes: number;
  readonly maxJsonBytes: number;
  readonly maxTextBytes: number;
  readonly maxSentencePieceBytes: number;
  readonly maxSentencePieces: number;
  readonly maxJsonNodes: number;
  readonly safetensors: Partial<SafetensorsLimits>;
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

export const DEFAULT_DIFFUSERS_LIMITS: DiffusersLimits = {
  maxEntries: 25_000,
  maxFiles: 20_000,
  maxDepth: 32,
  maxPathBytes: 4096,
  maxFileBytes: 50 * GiB,
  maxTotalBytes: 64 * GiB,
  maxIndexBytes: 1 * MiB,
  maxJsonBytes: 64 * MiB,
  maxTextBytes: 16 * MiB,
  maxSentencePieceBytes: 32 * MiB,
  maxSentencePieces: 1_000_000,
  maxJsonNodes: 1_000_000,
  safetensors: {},
};

/** Suffixes a diffusers directory may contain (§2.2.2). */
export const DIFFUSERS_ALLOWED_SUFFIXES: readonly string[] = [
  '.json',
  '.safetensors',
  '.txt',
  '.model',
  '.vocab',
  '.merges',
];
/** Pickle-based weight formats, refused with their own reason. */
export const PICKLE_SUFFIXES: readonly string[] = [
  '.bin',
  '.pt',
  '.pth',
  '.ckpt',
  '.pkl',
  '.pickle',
  '.joblib',
  '.npy',
  '.npz',
];
const ALLOWED_TOP_DIRS = new Set(['tokenizer', 'feature_extractor', 'image_processor']);
const IDENT = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;
const FORBIDDEN_INDEX_KEYS = new Set(['custom_pipeline', 'custom_revision', 'trust_remote_code']);
const COMPONENT_LIBRARIES = new Set(['diffusers', 'transformers']);

export type DiffusersFindingCode =
  | 'not_a_directory'
  | 'io_error'
  | 'too_many_entries'
  | 'too_many_files'
  | 'too_deep'
  | 'path_too_long'
  | 'path_not_unicode'
  | 'hidden_path'
  | 'symlink'
  | 'hard_link'
  | 'special_file'
  | 'file_too_large'
  | 'total_too_large'
  | 'file_changed'
  | 'model_index_missing'
  | 'model_index_invalid'
  | 'index_invalid'
  | 'component_missing'
  | 'component_not_directory'
  | 'unexpected_directory'
  | 'pickle_format'
  | 'unsupported_file_type'
  | 'safetensors_invalid'
  | 'json_invalid'
  | 'suspicious_content'
  | 'text_invalid'
  | 'sentencepiece_invalid'
  /** Bytes after the defined end of a safetensors or JSON member (issue 11 §1). */
  | 'trailing_data'
  | 'no_safetensors';

export interface DiffusersFinding {
  readonly code: DiffusersFindingCode;
  /** Path relative to the directory root ('' for the root itself). */
  readonly path: string;
  readonly detail: string;
}

export interface DiffusersFile {
  readonly path: string;
  readonly size: number;
  readonly kind: 'safetensors' | 'json' | 'text' | 'sentencepiece' | 'other';
}

export interface DiffusersInspection {
  readonly ok: boolean;
  /** Absent when ok; otherwise the first finding, or a count when there are several. */
  readonly reason?: string;
  readonly className?: string;
  /** Referenced components `name → [library, ClassName]`. */
  readonly components: Readonly<Record<string, readonly [string, string]>>;
  /** Regular files, sorted by UTF-8 bytes of their relative path. */
  readonly files: readonly DiffusersFile[];
  readonly safetensorsCount: number;
  readonly findings: readonly DiffusersFinding[];
}

const encoder = new TextEncoder();

function suffixOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

function kindOf(suffix: string): DiffusersFile['kind'] {
  switch (suffix) {
    case '.safetensors':
      return 'safetensors';
    case '.json':
      return 'json';
    case '.txt':
    case '.vocab':
    case '.merges':
      return 'text';
    case '.model':
      return 'sentencepiece';
    default:
      return 'other';
  }
}

interface WalkResult {
  readonly files: DiffusersFile[];
  readonly topDirs: Set<string>;
  readonly topFiles: Set<string>;
}

async function walk(
  dir: DirectorySource,
  limits: DiffusersLimits,
  findings: DiffusersFinding[],
): Promise<WalkResult | undefined> {
  const add = (code: DiffusersFindingCode, path: string, detail: string): void => {
    findings.push({ code, path, detail });
  };
  try {
    const st = await dir.stat('');
    if (st.kind !== 'directory') {
      add(
        'not_a_directory',
        '',
        st.kind === 'symlink' ? 'root is a symbolic link' : 'root is not a directory',
      );
      return undefined;
    }
  } catch (error) {
    add('io_error', '', String((error as Error).message));
    return undefined;
  }
  const files: DiffusersFile[] = [];
  const topDirs = new Set<string>();
  const topFiles = new Set<string>();
  let entries = 0;
  let total = 0;
  const queue: { rel: string; depth: number }[] = [{ rel: '', depth: 0 }];
  while (queue.length > 0) {
    const { rel, depth } = queue.pop() as { rel: string; depth: number };
    let names: readonly Uint8Array[];
    try {
      names = await dir.list(rel);
    } catch (error) {
      add('io_error', rel, String((error as Error).message));
      continue;
    }
    for (const rawName of names) {
      entries += 1;
      if (entries > limits.maxEntries) {
        add('too_many_entries', rel, `more than ${limits.maxEntries} entries`);
        return { files, topDirs, topFiles };
      }
      const decoded = decodeUtf8Strict(rawName);
      if (decoded === undefined) {
        add('path_not_unicode', rel, `entry ${latin1(rawName)} is not valid UTF-8`);
        continue;
      }
      const name = decoded;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (name.startsWith('.')) {
        add('hidden_path', childRel, 'hidden artifact paths are not allowed');
        continue;
      }
      if (encoder.encode(childRel).length > limits.maxPathBytes) {
        add('path_too_long', childRel, `relative path longer than ${limits.maxPathBytes} bytes`);
        continue;
      }
      let st: EntryFacts;
      try {
        st = await dir.stat(childRel);
      } catch (error) {
        add('io_error', childRel, String((error as Error).message));
        continue;
      }
      if (st.kind === 'symlink') {
        add('symlink', childRel, 'symbolic links are not allowed');
      } else if (st.kind === 'directory') {
        if (depth + 1 > limits.maxDepth) {
          add('too_deep', childRel, `deeper than ${limits.maxDepth}`);
          continue;
        }
        if (rel === '') topDirs.add(name);
        queue.push({ rel: childRel, depth: depth + 1 });
      } else if (st.kind !== 'file') {
        add('special_file', childRel, 'special files are not allowed');
      } else if (st.links !== 1) {
        add('hard_link', childRel, `file has ${st.links} links`);
      } else if (st.size > limits.maxFileBytes) {
        add('file_too_large', childRel, `${st.size} bytes exceeds ${limits.maxFileBytes}`);
      } else {
        if (files.length >= limits.maxFiles) {
          add('too_many_files', childRel, `more than ${limits.maxFiles} files`);
          return { files, topDirs, topFiles };
        }
        total += st.size;
        if (total > limits.maxTotalBytes) {
          add('total_too_large', childRel, `directory exceeds ${limits.maxTotalBytes} bytes`);
          return { files, topDirs, topFiles };
        }
        if (rel === '') topFiles.add(name);
        files.push({ path: childRel, size: st.size, kind: kindOf(suffixOf(name)) });
      }
    }
  }
  files.sort((a, b) => Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')));
  return { files, topDirs, topFiles };
}

/** A name as the file system gave it, for a detail (each byte one character). */
function latin1(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
}

/** Reads a whole member with no symlink following, refusing files over `max` or that change size. */
async function readBounded(
  dir: DirectorySource,
  rel: string,
  max: number,
): Promise<
  { ok: true; bytes: Uint8Array } | { ok: false; code: DiffusersFindingCode; detail: string }
> {
  let file: FileSource | undefined;
  try {
    file = await dir.open(rel);
    if (file.kind !== 'file')
      return { ok: false, code: 'special_file', detail: 'not a regular file' };
    if (file.links !== 1)
      return { ok: false, code: 'hard_link', detail: `file has ${file.links} links` };
    if (file.size > max)
      return { ok: false, code: 'file_too_large', detail: `${file.size} bytes exceeds ${max}` };
    // One byte more than the size: a file that grew while read is caught here too.
    const bytes = await file.read(0, file.size + 1);
    if (bytes.length !== file.size) {
      return { ok: false, code: 'file_changed', detail: 'file changed while it was being read' };
    }
    return { ok: true, bytes };
  } catch (error) {
    return { ok: false, code: 'io_error', detail: String((error as Error).message) };
  } finally {
    await file?.close().catch(() => undefined);
  }
}

/**
 * A JSON member file: one value, then at most one line ending. JSON allows any whitespace after
 * the value, but spaces, tabs, CRs and LFs carry two bits a byte, so a trailer re-encoded as
 * whitespace would pass a rule that only refuses other bytes (issue 11 §1). Every writer we know
 * (`json.dump`, `save_pretrained`'s `+ "\n"`, `JSON.stringify`, editors) ends with none or one.
 */
export function parseJsonMember(bytes: Uint8Array): JsonParseResult {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end -= 1;
  if (end > 0 && bytes[end - 1] === 0x0d) end -= 1;
  let ws = end;
  while (ws > 0 && isJsonWhitespace(bytes[ws - 1] as number)) ws -= 1;
  // An all-whitespace file is an empty document: the parser reports it as such.
  if (ws < end && ws > 0) {
    return {
      ok: false,
      code: 'json_trailing_data',
      detail: `${bytes.length - ws} whitespace byte(s) after the JSON value at offset ${ws}`,
    };
  }
  return parseBoundedJson(bytes);
}

function isJsonWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function isRecord(v: JsonValue): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface IndexValidation {
  readonly className?: string;
  readonly components: Record<string, readonly [string, string]>;
  readonly issues: string[];
}

/** Validates a decoded model_index.json (§2.2.2); collects every issue. */
export function validateModelIndex(index: JsonValue): IndexValidation {
  const components: Record<string, readonly [string, string]> = {};
  const issues: string[] = [];
  if (!isRecord(index)) return { components, issues: ['model_index.json is not an object'] };
  const cls = index._class_name;
  let className: string | undefined;
  if (typeof cls !== 'string' || !IDENT.test(cls))
    issues.push('_class_name is missing or not an identifier');
  else className = cls;
  for (const key of Object.keys(index)) {
    if (key.startsWith('_')) continue;
    const label = JSON.stringify(key.slice(0, 128));
    if (FORBIDDEN_INDEX_KEYS.has(key)) {
      issues.push(`forbidden key ${label}`);
      continue;
    }
    if (!IDENT.test(key)) {
      issues.push(`key ${label} is not an identifier`);
      continue;
    }
    const v = index[key] as JsonValue;
    if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint')
      continue;
    if (typeof v === 'string') {
      if (encoder.encode(v).length > 4096) issues.push(`value of ${label} longer than 4096 bytes`);
      continue;
    }
    if (Array.isArray(v) && v.length === 2 && v[0] === null && v[1] === null) continue;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      COMPONENT_LIBRARIES.has(v[0]) &&
      typeof v[1] === 'string' &&
      IDENT.test(v[1])
    ) {
      Object.defineProperty(components, key, {
        value: [v[0], v[1]] as const,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      continue;
    }
    issues.push(`component ${label} requests an unsupported import`);
  }
  return className === undefined ? { components, issues } : { className, components, issues };
}

const CODE_PATTERNS: readonly (readonly [RegExp, string])[] = [
  [/https?:\/\//i, 'network URL'],
  [/__import__\s*\(/i, '__import__('],
  [/\bexec\s*\(/i, 'exec('],
  [/\beval\s*\(/i, 'eval('],
  [/os\.system\s*\(/i, 'os.system('],
  [/subprocess/i, 'subprocess'],
  [/<script/i, '<script'],
  [/\bcurl\s/i, 'curl'],
  [/\bwget\s/i, 'wget'],
  [/\\x[0-9a-f]{2}/i, 'hex escape sequence'],
];

/**
 * Searches every decoded key and string value (iteratively, bounded) for code and network
 * patterns; returns the findings of the first string that has any.
 */
export function scanJsonForCode(value: JsonValue, maxNodes = 1_000_000): string[] {
  const stack: JsonValue[] = [value];
  let nodes = 0;
  const check = (s: string): string[] =>
    CODE_PATTERNS.filter(([re]) => re.test(s)).map(([, n]) => n);
  while (stack.length > 0) {
    nodes += 1;
    if (nodes > maxNodes) return [`more than ${maxNodes} JSON nodes`];
    const v = stack.pop() as JsonValue;
    if (typeof v === 'string') {
      const hits = check(v);
      if (hits.length > 0) return hits;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (isRecord(v)) {
      for (const [k, item] of Object.entries(v)) {
        const hits = check(k);
        if (hits.length > 0) return hits;
        stack.push(item);
      }
    }
  }
  return [];
}

/** Strict text rules for .txt/.vocab/.merges: UTF-8, no NUL/DEL, controls only TAB/LF/CR. */
export function validateTextFile(bytes: Uint8Array): string | undefined {
  for (let i = 0; i < bytes.length; i += 1) {
    const c = bytes[i] as number;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) {
      return `control byte 0x${c.toString(16).padStart(2, '0')} at offset ${i}`;
    }
  }
  const text = decodeUtf8Strict(bytes);
  if (text === undefined) return 'not valid UTF-8';
  // C1 controls (U+0080..U+009F) are control characters too.
  if (/[\u0080-\u009f]/.test(text)) return 'C1 control character';
  return undefined;
}

/** Structural validation of a SentencePiece ModelProto (§2.2.2). Returns an issue or undefined. */
export function validateSentencePiece(
  bytes: Uint8Array,
  maxPieces = 1_000_000,
): string | undefined {
  if (bytes.length === 0) return 'empty model';
  const r = { pos: 0 };
  const varint = (buf: Uint8Array, end: number): bigint | string => {
    let v = 0n;
    for (let i = 0; i < 10; i += 1) {
      if (r.pos >= end) return 'truncated varint';
      const b = buf[r.pos++] as number;
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) return 'non-canonical varint';
        return v;
      }
    }
    return 'varint longer than 10 bytes';
  };
  let pieces = 0;
  let trainer = 0;
  let normalizer = 0;
  let selfTest = 0;
  let denormalizer = 0;
  const end = bytes.length;
  while (r.pos < end) {
    const key = varint(bytes, end);
    if (typeof key === 'string') return key;
    const field = key >> 3n;
    const wire = Number(key & 7n);
    if (field < 1n || field > 5n) return `unexpected top-level field ${field}`;
    if (wire !== 2) return `top-level field ${field} has wire type ${wire}`;
    const len = varint(bytes, end);
    if (typeof len === 'string') return len;
    if (len > BigInt(end - r.pos)) return `field ${field} length exceeds the file`;
    const start = r.pos;
    const stop = start + Number(len);
    if (field === 1n) {
      pieces += 1;
      if (pieces > maxPieces) return `more than ${maxPieces} pieces`;
      const issue = validatePiece(bytes, start, stop);
      if (issue !== undefined) return `piece ${pieces}: ${issue}`;
    } else if (field === 2n) trainer += 1;
    else if (field === 3n) normalizer += 1;
    else {
      // self_test_data (4) and denormalizer_spec (5) are singular: protobuf merges a second
      // copy, so a second one is a message appended after a complete model (issue 11 §1).
      const seen = field === 4n ? ++selfTest : ++denormalizer;
      if (seen > 1) return `more than one field ${field} (a message appended to the model)`;
    }
    r.pos = stop;
  }
  if (trainer !== 1) return `expected exactly one trainer spec, found ${trainer}`;
  if (normalizer !== 1) return `expected exactly one normalizer spec, found ${normalizer}`;
  if (pieces === 0) return 'no pieces';
  return undefined;

  function validatePiece(buf: Uint8Array, from: number, to: number): string | undefined {
    let strings = 0;
    let scores = 0;
    let types = 0;
    r.pos = from;
    while (r.pos < to) {
      const key = varint(buf, to);
      if (typeof key === 'string') return key;
      const field = Number(key >> 3n);
      const wire = Number(key & 7n);
      if (field === 1 && wire === 2) {
        const len = varint(buf, to);
        if (typeof len === 'string') return len;
        if (len > BigInt(to - r.pos)) return 'piece string exceeds its message';
        const s = buf.subarray(r.pos, r.pos + Number(len));
        if (s.includes(0)) return 'NUL in piece';
        if (decodeUtf8Strict(s) === undefined) return 'piece is not UTF-8';
        r.pos += Number(len);
        strings += 1;
      } else if (field === 2 && wire === 5) {
        if (to - r.pos < 4) return 'truncated score';
        r.pos += 4;
        scores += 1;
      } else if (field === 3 && wire === 0) {
        const v = varint(buf, to);
        if (typeof v === 'string') return v;
        types += 1;
      } else {
        return `unexpected piece field ${field} wire ${wire}`;
      }
    }
    if (strings !== 1 || scores !== 1 || types > 1) return 'piece must have one string, one score';
    return undefined;
  }
}

/**
 * Inspects a diffusers-style model directory. `ok` only when there are no findings and at least
 * one safetensors file validated.
 */
export async function inspectDiffusersDirectory(
  root: string,
  limitsIn: Partial<DiffusersLimits> = {},
): Promise<DiffusersInspection> {
  return inspectDiffusersSource(directorySource(root), limitsIn);
}

/** `inspectDiffusersDirectory` over any directory source (reads only through `dir`). */
export async function inspectDiffusersSource(
  dir: DirectorySource,
  limitsIn: Partial<DiffusersLimits> = {},
): Promise<DiffusersInspection> {
  const limits: DiffusersLimits = { ...DEFAULT_DIFFUSERS_LIMITS, ...limitsIn };
  const findings: DiffusersFinding[] = [];
  let className: string | undefined;
  let components: Record<string, readonly [string, string]> = {};
  let files: DiffusersFile[] = [];
  let safetensorsCount = 0;
  const add = (code: DiffusersFindingCode, path: string, detail: string): void => {
    findings.push({ code, path, detail });
  };
  try {
    const walked = await walk(dir, limits, findings);
    if (walked !== undefined) {
      files = walked.files;
      // model_index.json
      if (!walked.topFiles.has('model_index.json')) {
        add('model_index_missing', 'model_index.json', 'model_index.json is required at the root');
      } else {
        const read = await readBounded(dir, 'model_index.json', limits.maxIndexBytes);
        if (!read.ok)
          add(
            read.code === 'file_too_large' ? 'model_index_invalid' : read.code,
            'model_index.json',
            read.detail,
          );
        else {
          const parsed = parseJsonMember(read.bytes);
          if (!parsed.ok)
            add(
              parsed.code === 'json_trailing_data' ? 'trailing_data' : 'model_index_invalid',
              'model_index.json',
              `${parsed.code}: ${parsed.detail}`,
            );
          else {
            const v = validateModelIndex(parsed.value);
            className = v.className;
            components = v.components;
            for (const issue of v.issues) add('index_invalid', 'model_index.json', issue);
          }
        }
      }
      // Components ↔ top-level directories.
      for (const name of Object.keys(components)) {
        if (walked.topDirs.has(name)) continue;
        if (walked.topFiles.has(name))
          add('component_not_directory', name, 'component is not a directory');
        else add('component_missing', name, 'referenced component missing');
      }
      for (const name of [...walked.topDirs].sort()) {
        if (!Object.hasOwn(components, name) && !ALLOWED_TOP_DIRS.has(name)) {
          add('unexpected_directory', name, `unexpected directory: ${name}`);
        }
      }
      // Per-file checks.
      for (const f of files) {
        const suffix = suffixOf(f.path.slice(f.path.lastIndexOf('/') + 1));
        if (PICKLE_SUFFIXES.includes(suffix)) {
          add('pickle_format', f.path, `pickle-based format ${suffix} is not allowed`);
          continue;
        }
        if (!DIFFUSERS_ALLOWED_SUFFIXES.includes(suffix)) {
          add('unsupported_file_type', f.path, `unsupported file type ${JSON.stringify(suffix)}`);
          continue;
        }
        switch (f.kind) {
          case 'safetensors': {
            const r = await inspectSafetensorsFile(() => dir.open(f.path), limits.safetensors);
            if (r.ok) safetensorsCount += 1;
            else
              add(
                r.reason === 'trailing_data' ? 'trailing_data' : 'safetensors_invalid',
                f.path,
                `${r.reason}: ${r.detail}`,
              );
            break;
          }
          case 'json': {
            const read = await readBounded(dir, f.path, limits.maxJsonBytes);
            if (!read.ok) {
              add(read.code, f.path, read.detail);
              break;
            }
            const parsed = parseJsonMember(read.bytes);
            if (!parsed.ok) {
              add(
                parsed.code === 'json_trailing_data' ? 'trailing_data' : 'json_invalid',
                f.path,
                `${parsed.code}: ${parsed.detail}`,
              );
              break;
            }
            const hits = scanJsonForCode(parsed.value, limits.maxJsonNodes);
            if (hits.length > 0)
              add(
                'suspicious_content',
                f.path,
                `suspicious content in ${f.path}: ${hits[0] ?? ''}`,
              );
            break;
          }
          case 'text': {
            const read = await readBounded(dir, f.path, limits.maxTextBytes);
            if (!read.ok) {
              add(read.code === 'file_too_large' ? 'text_invalid' : read.code, f.path, read.detail);
              break;
            }
            const issue = validateTextFile(read.bytes);
            if (issue !== undefined) add('text_invalid', f.path, issue);
            break;
          }
          case 'sentencepiece': {
            const read = await readBounded(dir, f.path, limits.maxSentencePieceBytes);
            if (!read.ok) {
              add(
                read.code === 'file_too_large' ? 'sentencepiece_invalid' : read.code,
                f.path,
                read.detail,
              );
              break;
            }
            const issue = validateSentencePiece(read.bytes, limits.maxSentencePieces);
            if (issue !== undefined) add('sentencepiece_invalid', f.path, issue);
            break;
          }
          case 'other':
            break;
        }
      }
      if (safetensorsCount === 0)
        add('no_safetensors', '', 'at least one valid safetensors file is required');
    }
  } catch (error) {
    add('io_error', '', `inspection error: ${String(error)}`);
  }
  const ok = findings.length === 0;
  const first = findings[0];
  const base = { ok, components, files, safetensorsCount, findings };
  const withClass = className === undefined ? base : { ...base, className };
  if (ok || first === undefined) return withClass;
  return {
    ...withClass,
    reason:
      findings.length === 1
        ? `${first.code}: ${first.path === '' ? '' : `${first.path}: `}${first.detail}`
        : `directory scan found ${findings.length} issue(s)`,
  };
}
