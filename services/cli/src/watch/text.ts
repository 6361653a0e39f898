// Text for a terminal, from values that may come from a forged envelope: nothing in them may
// move the cursor, change colours or reorder the line (C0/C1 controls, bidi overrides, zero-width
// characters are replaced), and every cell is cut to its width so a long claim cannot push the
// screen around.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;

/** A value made safe to print: controls and invisible formatting characters become `?`. */
export function safe(value: string): string {
  return value.replace(UNSAFE, '?');
}

/** Code points, so a cut never splits a surrogate pair. */
function chars(value: string): string[] {
  return Array.from(value);
}

export function width(value: string): number {
  return chars(value).length;
}

/** Cut to `n` columns (ending in `…` when cut). */
export function cut(value: string, n: number): string {
  if (n <= 0) return '';
  const c = chars(value);
  if (c.length <= n) return value;
  return `${c.slice(0, n - 1).join('')}…`;
}

/** Cut or padded to exactly `n` columns. */
export function fit(value: string, n: number): string {
  const v = cut(value, n);
  return v + ' '.repeat(Math.max(0, n - width(v)));
}

/** A table cell of `n` columns: the value cut to `n - 1`, then at least one space. */
export function col(value: string, n: number): string {
  return `${fit(value, n - 1)} `;
}

/** Styles the renderer may ask for; the screen decides whether they become ANSI colours. */
export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'inverse';

const SGR: Record<Style, string> = {
  bold: '1',
  dim: '2',
  red: '31',
  green: '32',
  yellow: '33',
  inverse: '7',
};

/** One piece of a line: text (already safe) with an optional style. */
export interface Span {
  text: string;
  style?: Style;
}

/** A rendered line: spans whose text adds up to at most the screen width. */
export type Line = Span[];

export function plain(line: Line): string {
  return line.map((s) => s.text).join('');
}

export function ansi(line: Line): string {
  return line
    .map((s) => (s.style && s.text !== '' ? `\x1b[${SGR[s.style]}m${s.text}\x1b[0m` : s.text))
    .join('');
}

/** Cuts a line to `n` columns, keeping the styles of what remains. */
export function cutLine(line: Line, n: number): Line {
  const out: Line = [];
  let left = n;
  for (const span of line) {
    if (left <= 0) break;
    const w = width(span.text);
    if (w <= left) {
      out.push(span);
      left -= w;
    } else {
      out.push({ ...span, text: cut(span.text, left) });
      left = 0;
    }
  }
  return out;
}

export function lineWidth(line: Line): number {
  return line.reduce((n, s) => n + width(s.text), 0);
}

/** Pads a line with spaces to `n` columns (after cutting it to `n`). */
export function padLine(line: Line, n: number): Line {
  const cutTo = cutLine(line, n);
  const w = lineWidth(cutTo);
  return w < n ? [...cutTo, { text: ' '.repeat(n - w) }] : cutTo;
}
