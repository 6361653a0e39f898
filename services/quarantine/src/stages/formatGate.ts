import { DIFFUSERS_WORDS, GGUF_WORDS, SAFETENSORS_WORDS } from '../answers/formatWords.js';
import type { DiffusersInspection } from '@secai/formats';
import type { GgufReport } from '@secai/formats';
import type { PolyglotFinding, PolyglotResult } from '@secai/formats';
import type { SafetensorsInspection } from '@secai/formats';

// The format gate's rule (issue 11 §3 and §4): what the parsers found in, one verdict out, in
// words a user can act on, with a stable reason code. Pure: the worker reads the file, calls the
// parsers and prints this. Each rejection says what is wrong first, then the parser's technical
// detail; `nextStepFor(reasonCode)` says what to do about it.

export interface FormatGateVerdict {
  passed: boolean;
  reasonCode: string;
  detail: string;
  /** Flat facts for the stage event. */
  facts: Record<string, string | number>;
}

/** What the worker found in a single file. */
export interface FileFindings {
  /** The polyglot detector's result, or why the file could not be read. */
  polyglot: PolyglotResult | { readonly error: string };
  gguf: GgufReport;
  /** Only read when the file has no GGUF magic. */
  safetensors?: SafetensorsInspection;
}

/** Pickle formats every loader runs as code; the gate admits GGUF and safetensors only. */
const PICKLE_CODES = new Set<PolyglotFinding['code']>([
  'pickle_prefix',
  'embedded_zip_pickle',
  'embedded_pickle',
]);

/** Printable ASCII for a detail (artifact bytes never reach an event raw), bounded. */
function printable(s: string, max = 200): string {
  const cleaned = s.replace(/[^\x20-\x7e]/g, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}~` : cleaned;
}

/** A global's name for a fact: `[A-Za-z0-9._:/-]` only. */
function label(s: string): string {
  return s.replace(/[^A-Za-z0-9._:/-]/g, '_').slice(0, 128);
}

const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/** What the first bytes of a file say it is, when it is a common mistake or a known container. */
function recognise(prefix: Uint8Array): string | null {
  const text = latin1(prefix);
  if (text.startsWith('version https://git-lfs'))
    return 'a Git LFS pointer file, not the model itself';
  if (/^\s*<(!doctype|html|\?xml)/i.test(text)) return 'an HTML or XML page, not a model';
  if (text.startsWith('\x7fELF') || text.startsWith('MZ') || text.startsWith('#!'))
    return 'an executable or script';
  if (text.startsWith('PK\x03\x04')) return 'a zip archive';
  if (text.startsWith('\x1f\x8b')) return 'a gzip archive';
  if (text.startsWith('BZh') || text.startsWith('\xfd7zXZ') || text.startsWith('7z\xbc\xaf'))
    return 'a compressed archive';
  if (/^\s*[{[]/.test(text)) return 'a JSON or text file';
  return null;
}

const hexOf = (bytes: Uint8Array): string =>
  [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

/** `3c 21 44 4f "<!DO"`: the magic as hex and as text. */
function magicOf(prefix: Uint8Array): string {
  if (prefix.length === 0) return 'empty file';
  const head = prefix.subarray(0, 4);
  const hex = [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `magic ${hex} ${JSON.stringify(printable(latin1(head).replace(/"/g, '?')))}`;
}

function notAModel(
  prefix: Uint8Array,
  findings: readonly PolyglotFinding[] = [],
): FormatGateVerdict {
  const what = recognise(prefix);
  const also = [...new Set(findings.map((x) => x.code))].slice(0, 3);
  // Evidence a reader can check against the file (`head -c 16 FILE | xxd`): its first bytes.
  const facts: Record<string, string | number> = {
    magic_hex: hexOf(prefix.subarray(0, 16)) || 'empty',
  };
  if (what !== null) facts.looks_like = label(what.split(',')[0]!.replace(/ /g, '_'));
  if (also.length > 0) facts.also_found = also.join(',');
  return {
    passed: false,
    reasonCode: 'unknown_format',
    detail: printable(
      `not a GGUF or safetensors file (${magicOf(prefix)})${what ? `: ${what}` : ''}` +
        (also.length > 0 ? `; also found: ${also.join(', ')}` : ''),
      512,
    ),
    facts,
  };
}

/** A pickle or a torch.save archive: refused as a format, naming what it would run. */
function pickleFormat(findings: readonly PolyglotFinding[], zip: boolean): FormatGateVerdict {
  const pickles = findings.filter((f) => PICKLE_CODES.has(f.code));
  const dangerous = [...new Set(pickles.flatMap((f) => f.dangerousGlobals ?? []))];
  const others = [...new Set(pickles.flatMap((f) => f.globals ?? []))];
  const found =
    dangerous.length > 0
      ? `it imports ${dangerous.slice(0, 3).join(', ')}, which runs code on the host`
      : others.length > 0
        ? `it imports no dangerous global the scanner knows (imports: ${others.slice(0, 3).join(', ')})`
        : 'it imports no dangerous global the scanner knows';
  const facts: Record<string, string | number> = {
    container: zip ? 'torch_zip' : 'pickle',
    pickle_globals: others.length,
  };
  if (dangerous[0] !== undefined) facts.dangerous_global = label(dangerous[0]);
  return {
    passed: false,
    reasonCode: 'pickle_format',
    detail: printable(
      `${zip ? 'a PyTorch (torch.save) archive' : 'a Python pickle'}: policy refuses pickle ` +
        `formats (.pkl, .pt, .pth, .bin, .ckpt), because loading one runs code; ${found}. ` +
        'Use the safetensors (or GGUF) version of the model instead',
      512,
    ),
    facts,
  };
}

/** The file's verdict from what the parsers found. */
export function fileGateVerdict(f: FileFindings): FormatGateVerdict {
  const { polyglot } = f;
  if ('error' in polyglot)
    return {
      passed: false,
      reasonCode: 'unreadable',
      detail: printable(`the file could not be read: ${polyglot.error}`, 512),
      facts: {},
    };
  const { primary, findings, prefix } = polyglot;
  const model = primary === 'gguf' || primary === 'safetensors';
  // The file itself is a pickle (any protocol) or a torch.save zip holding one: a question of
  // format, not of a container hidden in a model.
  if (
    !model &&
    findings.some(
      (x) => x.code === 'pickle_prefix' || (primary === 'zip' && x.code === 'embedded_zip_pickle'),
    )
  )
    return pickleFormat(findings, primary === 'zip');
  // Not a model at all: say what it is rather than which second container it also is.
  if (!model) return notAModel(prefix, findings);
  if (polyglot.polyglot)
    return {
      passed: false,
      reasonCode: 'polyglot',
      detail: printable(
        `the ${primary} file is also valid as another container ` +
          `(bytes hidden inside a model): ${findings
            .slice(0, 3)
            .map(
              (x) =>
                `${x.code} at ${x.offset}${x.dangerousGlobals?.length ? ` imports ${x.dangerousGlobals.join(', ')}` : ''}`,
            )
            .join(', ')}`,
        512,
      ),
      facts: {},
    };
  const { gguf } = f;
  if (gguf.ok)
    return {
      passed: true,
      reasonCode: 'gguf_ok',
      detail: '',
      facts: { format: 'gguf', tensors: gguf.tensorCount, version: gguf.version },
    };
  if (gguf.reason !== 'bad_magic')
    return {
      passed: false,
      reasonCode: `gguf_${gguf.reason}`,
      detail: printable(`${GGUF_WORDS[gguf.reason]}: ${gguf.detail}`, 512),
      facts: {},
    };
  const st = f.safetensors;
  if (st?.ok)
    return {
      passed: true,
      reasonCode: 'safetensors_ok',
      detail: '',
      facts: { format: 'safetensors', tensors: st.tensors.length },
    };
  // Only a file shaped like safetensors (a bounded header length, then `{`) is judged as one;
  // anything else gets the magic, not the safetensors parser's message about its first 8 bytes.
  if (st === undefined || primary !== 'safetensors') return notAModel(prefix);
  return {
    passed: false,
    reasonCode: `safetensors_${st.reason}`,
    detail: printable(`${SAFETENSORS_WORDS[st.reason]}: ${st.detail}`, 512),
    facts: {},
  };
}

/** A diffusers directory's verdict: a stable code per finding (`diffusers_<finding>`). */
export function directoryGateVerdict(r: DiffusersInspection): FormatGateVerdict {
  if (r.ok)
    return {
      passed: true,
      reasonCode: 'diffusers_ok',
      detail: '',
      facts: { format: 'diffusion-directory', files: r.files.length },
    };
  // Bytes hidden after a member's end get the code they get in a single file (issue 11 §1),
  // whatever else the directory scan found; otherwise the first finding names the rejection.
  const lead = r.findings.find((x) => x.code === 'trailing_data') ?? r.findings[0];
  const code = lead?.code ?? 'io_error';
  const listed = [lead, ...r.findings.filter((x) => x !== lead)]
    .filter((x) => x !== undefined)
    .slice(0, 3)
    .map((x) => `${x.path === '' ? '' : `${x.path}: `}${DIFFUSERS_WORDS[x.code]} (${x.detail})`)
    .join('; ');
  const n = r.findings.length;
  return {
    passed: false,
    reasonCode: `diffusers_${code}`,
    detail: printable(
      `${n} problem${n === 1 ? '' : 's'} in the directory: ${listed}${n > 3 ? `; and ${n - 3} more` : ''}`,
      512,
    ),
    facts: { findings: n },
  };
}
