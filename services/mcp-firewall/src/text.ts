import { sha256Hex } from '@secai/contracts';

// Hostile text (what an upstream says about its tools, what a client says about itself) on its
// way into an event or a log: invisible and control characters spelled out, cut to a bound.

/**
 * Characters a person cannot see or that reorder what they see: C0/C1 controls (tab, newline and
 * carriage return aside), zero-width and joiner characters, bidi embeddings/overrides/isolates,
 * the BOM, soft hyphen, the Unicode "tags" block (U+E0000–E007F, ASCII smuggled invisibly),
 * variation selectors, interlinear annotation. Built from code points: the characters themselves
 * in a regex literal would be as invisible to a reviewer as they are to a user.
 */
const INVISIBLE_RANGES: readonly (readonly [number, number])[] = [
  [0x00, 0x08],
  [0x0b, 0x0c],
  [0x0e, 0x1f],
  [0x7f, 0x9f],
  [0xad, 0xad],
  [0x34f, 0x34f],
  [0x61c, 0x61c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff9, 0xfffb],
  [0xe0000, 0xe007f],
  [0xe0100, 0xe01ef],
];

/** A global, unicode character class of code point ranges. */
export function rangeClass(ranges: readonly (readonly [number, number])[], flags = 'gu'): RegExp {
  const hex = (cp: number) => `\\u{${cp.toString(16)}}`;
  return new RegExp(
    `[${ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`,
    flags,
  );
}

export const INVISIBLE = rangeClass(INVISIBLE_RANGES);

/** `text` with every invisible character written as `<U+XXXX>` (newlines and tabs kept). */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    return `<U+${cp.toString(16).toUpperCase().padStart(4, '0')}>`;
  });
}

/** Escaped, then cut to `max` characters (never in the middle of a surrogate pair). */
export function bounded(text: string, max: number): string {
  const escaped = escapeInvisible(text).replace(/[\r\n\t]+/g, ' ');
  if (escaped.length <= max) return escaped;
  let cut = max - 1;
  const code = escaped.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${escaped.slice(0, cut)}…`;
}

/** One line for a label field (`McpToolLabel`, `Text(n)`): escaped, no control characters. */
export function label(text: string, max: number): string {
  const b = bounded(text, max);
  return b.length > 0 ? b : '<empty>';
}

export function digestOf(data: string | Uint8Array): string {
  return `sha256:${sha256Hex(data)}`;
}

/** Hostile text as an event records it (`McpText`). */
export function recordedText(text: string): { text: string; length: number; digest: string } {
  return { text: bounded(text, 1024), length: text.length, digest: digestOf(text) };
}
