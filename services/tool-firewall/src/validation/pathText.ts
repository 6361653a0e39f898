import { normalizePath, type PathRefusal } from '@secai/contracts';

// The text of a path argument, before anything asks or opens (the reference's §4.5, stricter):
// the policy engine's own rule (`normalizePath` in @secai/contracts: an encoding trick is refused,
// not decoded — percent escapes, NUL and control characters, backslashes, Unicode slash and dot
// look-alikes, invalid Unicode; then lexical normalisation), so the gate and the engine refuse the
// same paths. One rule of the gate's own on top: the name must already be in NFKC form, because
// the file system compares bytes and a name that normalises to another names a different file.

export const MAX_PATH_BYTES = 4096;

export type PathText =
  | { ok: true; logical: string }
  | { ok: false; code: 'PATH_ENCODING' | 'PATH_INVALID'; reason: string };

const INVALID: ReadonlySet<PathRefusal> = new Set(['empty', 'too_long', 'relative']);
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;

/** How many rounds of percent-decoding change `text` (at most 4), or null when one is malformed. */
function percentRounds(text: string): number | null {
  let current = text;
  for (let round = 0; round < 4; round++) {
    if (!PERCENT_ESCAPE.test(current)) return round;
    try {
      current = decodeURIComponent(current);
    } catch {
      return null;
    }
  }
  return 4;
}

/** Why a percent-encoded path was refused, in the caller's terms (how deep the encoding goes). */
function percentReason(raw: string, detail: string): string {
  if (!PERCENT_ESCAPE.test(raw)) return detail;
  const rounds = percentRounds(raw);
  if (rounds === null) return 'holds a malformed percent escape';
  const n = rounds >= 4 ? 'more than 3' : String(rounds);
  return `is percent-encoded (${n} round${rounds === 1 ? '' : 's'}); send the path itself`;
}

/**
 * Checks a path argument's text and normalises it lexically (`.`, `..`, `//` and a trailing `/`
 * resolved). Absolute paths only; `..` above `/` stays at `/`, as a kernel would.
 */
export function checkPathText(raw: string): PathText {
  if (Buffer.byteLength(raw, 'utf8') > MAX_PATH_BYTES)
    return { ok: false, code: 'PATH_INVALID', reason: `is longer than ${MAX_PATH_BYTES} bytes` };
  const normalized = normalizePath(raw);
  if (!normalized.ok) {
    const { refusal, detail } = normalized;
    if (INVALID.has(refusal)) return { ok: false, code: 'PATH_INVALID', reason: detail };
    const reason = refusal === 'percent_encoded' ? percentReason(raw, detail) : detail;
    return { ok: false, code: 'PATH_ENCODING', reason };
  }
  if (raw.normalize('NFKC') !== raw)
    return {
      ok: false,
      code: 'PATH_ENCODING',
      reason: 'is not in Unicode normal form (NFKC would change it)',
    };
  return { ok: true, logical: normalized.path };
}
