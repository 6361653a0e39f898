import { posix } from 'node:path';

// The text of a path argument, before anything asks or opens (the reference's §4.5, stricter):
// an encoding trick is refused, not decoded. Percent escapes, NUL and control characters,
// backslashes, Unicode slash and dot look-alikes, combining marks and text that NFKC would
// change (full-width forms) are all ways to make one path read as another to one layer and not
// to the next; the policy engine refuses them too, so refusing here costs nothing legitimate.
// Pure (`node:path` only for POSIX normalisation).

export const MAX_PATH_BYTES = 4096;

export type PathText =
  | { ok: true; logical: string }
  | { ok: false; code: 'PATH_ENCODING' | 'PATH_INVALID'; reason: string };

/** Slash, dot and backslash look-alikes (the reference's list, and the dot leaders). */
const LOOK_ALIKES =
  /[\u2024\u2025\u2026\u2044\u2215\u2216\u29f8\u3002\ufe52\uff0e\uff0f\uff3c\uff61\ufffd]/u;
const COMBINING = /[\p{Mn}\p{Me}]/u;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
/** A high surrogate without its low half, or a low one without its high half (no `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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

/**
 * Checks a path argument's text and normalises it lexically (`.`, `..`, `//` and a trailing `/`
 * resolved). Absolute paths only; `..` above `/` stays at `/`, as a kernel would.
 */
export function checkPathText(raw: string): PathText {
  const refuse = (code: 'PATH_ENCODING' | 'PATH_INVALID', reason: string): PathText => ({
    ok: false,
    code,
    reason,
  });
  if (raw.length === 0) return refuse('PATH_INVALID', 'is empty');
  if (Buffer.byteLength(raw, 'utf8') > MAX_PATH_BYTES)
    return refuse('PATH_INVALID', `is longer than ${MAX_PATH_BYTES} bytes`);
  if (LONE_SURROGATE.test(raw)) return refuse('PATH_ENCODING', 'holds a lone UTF-16 surrogate');
  if (raw.includes('\u0000')) return refuse('PATH_ENCODING', 'holds a NUL character');
  if (CONTROL.test(raw)) return refuse('PATH_ENCODING', 'holds a control character');
  if (PERCENT_ESCAPE.test(raw)) {
    const rounds = percentRounds(raw);
    return refuse(
      'PATH_ENCODING',
      rounds === null
        ? 'holds a malformed percent escape'
        : `is percent-encoded (${rounds >= 4 ? 'more than 3' : rounds} round${rounds === 1 ? '' : 's'}); send the path itself`,
    );
  }
  if (raw.includes('\\')) return refuse('PATH_ENCODING', 'holds a backslash');
  if (LOOK_ALIKES.test(raw))
    return refuse('PATH_ENCODING', 'holds a Unicode look-alike of a slash or a dot');
  if (COMBINING.test(raw)) return refuse('PATH_ENCODING', 'holds a combining mark');
  if (raw.normalize('NFKC') !== raw)
    return refuse('PATH_ENCODING', 'is not in Unicode normal form (NFKC would change it)');
  if (!raw.startsWith('/')) return refuse('PATH_INVALID', 'is not absolute');
  const normal = posix.normalize(raw);
  const logical = normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
  return { ok: true, logical };
}
