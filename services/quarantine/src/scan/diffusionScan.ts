// The diffusion deep scan (issue 4 §3.7, reference §2.8 `diffusion_deep_scan`), called by the
// sandboxed worker `workers/diffusionScan.ts` for diffusers directories.
//
// The reference's deep scan re-inspected the tree with the format gate's rules, required and
// validated model_index.json collecting every issue, checked that every `[library, Class]`
// component exists as a directory and that no other top-level directory exists (except tokenizer,
// feature_extractor, image_processor), and searched every JSON file's decoded keys and strings for
// URLs and code. `inspectDiffusersDirectory` does all of that (and more: links, special and hidden
// files, pickle formats, file types, text and SentencePiece structure, safetensors headers).
//
// This scan adds (ours):
//   - per-component configuration: a scheduler (class `*Scheduler`) needs `scheduler_config.json`,
//     a tokenizer (`*Tokenizer`, `*TokenizerFast`) one of its vocabulary/config files, a
//     processor (`*FeatureExtractor`, `*ImageProcessor`, `*Processor`) `preprocessor_config.json`,
//     any other component (a model) `config.json` and at least one `.safetensors` file
//     (`component_config_missing`, `component_weights_missing`); a diffusers component's
//     `_class_name` must be the class model_index.json names (`component_class_mismatch`: the
//     loader would build another class than the one declared);
//   - remote code: a JSON file anywhere with an `auto_map`, `trust_remote_code`,
//     `custom_pipeline` or `custom_revision` key at any depth (`remote_code`): transformers and
//     diffusers import code named there, possibly from another repository;
//   - every safetensors file: structural polyglot check of head and tail (`polyglot`: zip records,
//     pickle prefix, executable magic) and the embedded-pickle scan of every byte
//     (`embedded_pickle`, `pickle_scan_incomplete`; inert chance streams in the weights pass);
//   - content sniffing of every other file: executable, archive, compressed, pickle or script
//     (`#!`) magic is an `unexpected_file_type` whatever the suffix.
// Every issue is collected, in the order met; `diffusionVerdict` (stages/diffusionScan.ts, pure)
// turns them into the stage's verdict.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectDiffusersDirectory, type DiffusersFinding } from '@secai/formats';
import { detectPolyglotFile } from '@secai/formats';
import { parseBoundedJson, type JsonValue } from '@secai/formats';
import { scanFileForPickles, type FilePickleVerdict } from './pickles.js';
import type { ReaderLimits } from '../stages/formatLimits.js';

export { diffusionVerdict } from '../stages/diffusionScan.js';

export type DiffusionIssueCode =
  | DiffusersFinding['code']
  | 'component_config_missing'
  | 'component_class_mismatch'
  | 'component_weights_missing'
  | 'remote_code'
  | 'polyglot'
  | 'embedded_pickle'
  | 'pickle_scan_incomplete'
  | 'unexpected_file_type';

export interface DiffusionIssue {
  code: DiffusionIssueCode;
  path: string;
  detail: string;
  /** For `embedded_pickle` and `pickle_scan_incomplete`: the file's pickle verdict. */
  pickleVerdict?: FilePickleVerdict;
}

export interface DiffusionScanReport {
  ok: boolean;
  className?: string;
  components: number;
  files: number;
  safetensors: number;
  issues: DiffusionIssue[];
  /** Safetensors files whose only pickle streams are inert (no import): not issues by default. */
  inertPickles: { path: string; streams: number }[];
}

export interface DiffusionScanOptions {
  pickleOpcodesPerMiB?: number;
  pickleMaxStreams?: number;
  /**
   * Largest JSON file parsed for the remote-code keys (default 64 MiB, as the reference; else
   * the diffusers reader's `maxJsonBytes` when `readerLimits` are given).
   */
  maxJsonBytes?: number;
  /** The readers' bounds from policy (`quarantine.format_gate`); the readers' defaults if absent. */
  readerLimits?: Pick<ReaderLimits, 'diffusers' | 'polyglot'>;
}

const REMOTE_CODE_KEYS = new Set([
  'auto_map',
  'trust_remote_code',
  'custom_pipeline',
  'custom_revision',
]);
const TOKENIZER_FILES =
  /^(?:tokenizer_config\.json|tokenizer\.json|vocab\.json|vocab\.txt|[^/]+\.model)$/;

/** Magic numbers no diffusers file may start with (checked on every non-safetensors file). */
const MAGICS: readonly [string, number[]][] = [
  ['ELF executable', [0x7f, 0x45, 0x4c, 0x46]],
  ['PE executable', [0x4d, 0x5a, 0x90, 0x00]],
  ['Mach-O executable', [0xcf, 0xfa, 0xed, 0xfe]],
  ['Mach-O executable', [0xce, 0xfa, 0xed, 0xfe]],
  ['Mach-O universal binary', [0xca, 0xfe, 0xba, 0xbe]],
  ['zip archive', [0x50, 0x4b, 0x03, 0x04]],
  ['gzip data', [0x1f, 0x8b]],
  ['bzip2 data', [0x42, 0x5a, 0x68]],
  ['xz data', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['7z archive', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]],
  ['zstd data', [0x28, 0xb5, 0x2f, 0xfd]],
  ['script (#!)', [0x23, 0x21]],
  ['pickle', [0x80, 0x02]],
  ['pickle', [0x80, 0x03]],
  ['pickle', [0x80, 0x04]],
  ['pickle', [0x80, 0x05]],
  ['WebAssembly module', [0x00, 0x61, 0x73, 0x6d]],
];

async function readHead(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readJson(path: string, max: number): Promise<JsonValue | undefined> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const { size } = await fh.stat();
    if (size > max) return undefined;
    const buf = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    const parsed = parseBoundedJson(buf.subarray(0, done));
    return parsed.ok ? parsed.value : undefined;
  } finally {
    await fh.close();
  }
}

function isRecord(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first remote-code key anywhere in a decoded JSON value (iterative, bounded). */
export function findRemoteCodeKey(value: JsonValue, maxNodes = 1_000_000): string | undefined {
  const stack: JsonValue[] = [value];
  let nodes = 0;
  while (stack.length > 0) {
    if (++nodes > maxNodes) return undefined;
    const v = stack.pop() as JsonValue;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (isRecord(v)) {
      for (const [k, item] of Object.entries(v)) {
        if (REMOTE_CODE_KEYS.has(k)) return k;
        stack.push(item);
      }
    }
  }
  return undefined;
}

type ComponentKind = 'scheduler' | 'tokenizer' | 'processor' | 'model';

export function componentKind(className: string): ComponentKind {
  if (/Scheduler$/.test(className)) return 'scheduler';
  if (/Tokenizer(?:Fast)?$/.test(className)) return 'tokenizer';
  if (/(?:FeatureExtractor|ImageProcessor|Processor)$/.test(className)) return 'processor';
  return 'model';
}

/** The deep scan of a diffusers directory. Never throws. */
export async function diffusionDeepScan(
  dir: string,
  options: DiffusionScanOptions = {},
): Promise<DiffusionScanReport> {
  const issues: DiffusionIssue[] = [];
  const add = (code: DiffusionIssueCode, path: string, detail: string): void => {
    issues.push({ code, path, detail });
  };
  const inertPickles: DiffusionScanReport['inertPickles'] = [];
  const { readerLimits } = options;
  const maxJson = options.maxJsonBytes ?? readerLimits?.diffusers.maxJsonBytes ?? 64 * 1024 * 1024;
  const tree = await inspectDiffusersDirectory(dir, readerLimits?.diffusers);
  for (const f of tree.findings) add(f.code, f.path, f.detail);
  const files = tree.files;
  const paths = new Set(files.map((f) => f.path));
  try {
    // Per-component configuration.
    for (const [name, [library, cls]] of Object.entries(tree.components)) {
      const inside = files.filter((f) => f.path.startsWith(`${name}/`));
      if (inside.length === 0) continue; // missing or empty: the inspection reported it
      const kind = componentKind(cls);
      const need = (file: string): boolean => {
        if (paths.has(`${name}/${file}`)) return true;
        add('component_config_missing', name, `${cls} component has no ${file}`);
        return false;
      };
      const checkClass = async (file: string): Promise<void> => {
        if (library !== 'diffusers') return;
        const config = await readJson(join(dir, name, file), maxJson);
        const declared = isRecord(config) ? config._class_name : undefined;
        if (declared !== cls)
          add(
            'component_class_mismatch',
            `${name}/${file}`,
            `_class_name ${typeof declared === 'string' ? JSON.stringify(declared.slice(0, 64)) : 'missing'} is not ${cls}`,
          );
      };
      if (kind === 'scheduler') {
        if (need('scheduler_config.json')) await checkClass('scheduler_config.json');
      } else if (kind === 'tokenizer') {
        if (!inside.some((f) => TOKENIZER_FILES.test(f.path.slice(name.length + 1))))
          add('component_config_missing', name, `${cls} component has no tokenizer files`);
      } else if (kind === 'processor') {
        need('preprocessor_config.json');
      } else {
        if (need('config.json')) await checkClass('config.json');
        if (!inside.some((f) => f.kind === 'safetensors'))
          add('component_weights_missing', name, `${cls} component has no safetensors weights`);
      }
    }
    // Every file.
    for (const f of files) {
      const abs = join(dir, f.path);
      if (f.kind === 'json') {
        const value = await readJson(abs, maxJson);
        const key = value === undefined ? undefined : findRemoteCodeKey(value);
        if (key !== undefined) add('remote_code', f.path, `${key} names code to import`);
      } else if (f.kind === 'safetensors') {
        // Structural polyglots only: embedded pickle streams are judged by the full-file scan
        // below, which tells inert chance streams in the weights from real ones.
        const poly = await detectPolyglotFile(abs, readerLimits?.polyglot);
        const structural =
          'error' in poly
            ? []
            : poly.findings.filter(
                (x) => x.code !== 'embedded_pickle' && x.code !== 'embedded_zip_pickle',
              );
        if ('error' in poly) add('io_error', f.path, poly.error);
        else if (structural.length > 0)
          add(
            'polyglot',
            f.path,
            structural
              .slice(0, 3)
              .map((x) => x.code)
              .join(', '),
          );
        const pickles = await scanFileForPickles(abs, {
          ...(options.pickleOpcodesPerMiB !== undefined
            ? { opcodeBudgetPerMiB: options.pickleOpcodesPerMiB }
            : {}),
          ...(options.pickleMaxStreams !== undefined
            ? { maxStreams: options.pickleMaxStreams }
            : {}),
        });
        const first = pickles.findings[0];
        const pickleVerdict = pickles.verdict;
        if (pickleVerdict === 'incomplete')
          issues.push({
            code: 'pickle_scan_incomplete',
            path: f.path,
            detail: first?.detail ?? 'pickle scan incomplete',
            pickleVerdict,
          });
        else if (first !== undefined)
          issues.push({
            code: 'embedded_pickle',
            path: f.path,
            detail: `${first.verdict} pickle stream at offset ${first.offset}: ${first.detail}`,
            pickleVerdict,
          });
        else if (pickleVerdict === 'clean')
          inertPickles.push({ path: f.path, streams: pickles.streams });
        continue;
      }
      const head = await readHead(abs, 8);
      const magic = MAGICS.find(([, m]) => m.every((b, i) => head[i] === b));
      if (magic !== undefined) add('unexpected_file_type', f.path, `${magic[0]} content`);
    }
  } catch (err) {
    add('io_error', '', `deep scan error: ${String((err as Error)?.message ?? err)}`);
  }
  const report: DiffusionScanReport = {
    ok: issues.length === 0,
    components: Object.keys(tree.components).length,
    files: files.length,
    safetensors: files.filter((f) => f.kind === 'safetensors').length,
    issues,
    inertPickles,
  };
  return tree.className !== undefined ? { ...report, className: tree.className } : report;
}
