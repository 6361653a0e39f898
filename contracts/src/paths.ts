// Path matching for `path_access` and the tool paths allow/deny lists (reference §2.4, §4.5),
// and the one path-text rule every gate applies before it opens anything (the tool firewall, the
// MCP policy's path_restrict): here in contracts so gates and the engine refuse exactly the same
// paths.
//
// Pure functions: no filesystem access, no clock, no state. Everything here is lexical. Symlink
// resolution (which the original tool firewall did) belongs to whoever opens the file, not to
// the policy decision, because a decision must be replayable from its input alone.
//
// Differences from the original, on purpose:
// - Encoded forms are REFUSED, never decoded. The original decoded up to three rounds of
//   percent-encoding and then matched. Every decoder is a parser differential waiting to happen
//   (the component that opens the file may decode a different number of rounds, or not at all),
//   so a path that needs decoding is not a path we judge.
// - Unicode slash/dot look-alikes are refused from a wider set than the original's list: every
//   code point whose NFKC form adds a '/', '\', '.' or '%', plus the punctuation and symbol
//   look-alikes from Unicode's confusables data that NFKC leaves alone (U+2215 and friends).
// - Relative paths are refused (the original kept them relative so they never matched an
//   absolute pattern; refusing says why).
//
// Determinism note: NFKC comes from the runtime's ICU. A code point assigned in a later Unicode
// version could change an answer after a Node upgrade; replay across runtime upgrades should be
// read with that in mind.

export type PathRefusal =
  | 'empty'
  | 'too_long'
  | 'relative'
  | 'nul_or_control'
  | 'backslash'
  | 'percent_encoded'
  | 'unicode_slash'
  | 'overlong_utf8'
  | 'invalid_unicode';

export type NormalizedPath =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly refusal: PathRefusal; readonly detail: string };

export interface PathListMatch {
  /** Why the path was refused before matching, or null when it was judged. */
  readonly refused: PathRefusal | null;
  /** The first pattern (exactly as given) that contains the path, or null. */
  readonly matched: string | null;
  /** The normalised path, or null when refused. */
  readonly normalized: string | null;
}

/** Longest accepted path, in UTF-16 code units (PATH_MAX on Linux is 4096 bytes). */
export const MAX_PATH_LENGTH = 4096;

/** Thrown by {@link normalizePattern}: patterns come from a validated policy, so a bad one is a bug. */
export class InvalidPathPatternError extends Error {
  readonly pattern: string;
  readonly refusal: PathRefusal | 'glob';
  readonly detail: string;
  constructor(pattern: string, refusal: PathRefusal | 'glob', detail: string) {
    super(`invalid path pattern ${JSON.stringify(pattern)}: ${refusal} (${detail})`);
    this.name = 'InvalidPathPatternError';
    this.pattern = pattern;
    this.refusal = refusal;
    this.detail = detail;
  }
}

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

// Look-alikes that NFKC does NOT fold into '/', '\' or '.', taken from Unicode's confusables data
// (target SOLIDUS, REVERSE SOLIDUS or FULL STOP) plus the ideographic full stops that IDNA treats
// as dots. Only punctuation, symbols, marks and tone letters are listed. Letters and digits of
// real scripts (KATAKANA LETTER NO U+30CE, CJK U+4E36 and U+4E3F, COPTIC U+2CC6, ARABIC-INDIC
// DIGIT ZERO U+0660 and U+06F0) are legitimate file-name characters, and no normaliser turns
// them into separators, so they are not refused.
const LOOKALIKES: ReadonlyMap<number, string> = new Map([
  // slash
  [0x0337, 'COMBINING SHORT SOLIDUS OVERLAY'],
  [0x0338, 'COMBINING LONG SOLIDUS OVERLAY'],
  [0x1735, 'PHILIPPINE SINGLE PUNCTUATION'],
  [0x2041, 'CARET INSERTION POINT'],
  [0x2044, 'FRACTION SLASH'],
  [0x20eb, 'COMBINING LONG DOUBLE SOLIDUS OVERLAY'],
  [0x2215, 'DIVISION SLASH'],
  [0x2571, 'BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT'],
  [0x27cb, 'MATHEMATICAL RISING DIAGONAL'],
  [0x29f8, 'BIG SOLIDUS'],
  [0x2afb, 'TRIPLE SOLIDUS BINARY RELATION'],
  [0x2afd, 'DOUBLE SOLIDUS OPERATOR'],
  [0x2f03, 'KANGXI RADICAL SLASH'],
  [0x3033, 'VERTICAL KANA REPEAT MARK UPPER HALF'],
  [0x31d3, 'CJK STROKE SP'],
  [0x1d23a, 'GREEK INSTRUMENTAL NOTATION SYMBOL-47'],
  // backslash
  [0x20e5, 'COMBINING REVERSE SOLIDUS OVERLAY'],
  [0x2216, 'SET MINUS'],
  [0x244a, 'OCR DOUBLE BACKSLASH'],
  [0x27cd, 'MATHEMATICAL FALLING DIAGONAL'],
  [0x29f5, 'REVERSE SOLIDUS OPERATOR'],
  [0x29f9, 'BIG REVERSE SOLIDUS'],
  [0x2cf9, 'COPTIC OLD NUBIAN FULL STOP'],
  [0x2f02, 'KANGXI RADICAL DOT'],
  [0x31d4, 'CJK STROKE D'],
  [0x1d20f, 'GREEK VOCAL NOTATION SYMBOL-16'],
  [0x1d23b, 'GREEK INSTRUMENTAL NOTATION SYMBOL-48'],
  // dot
  [0x0701, 'SYRIAC SUPRALINEAR FULL STOP'],
  [0x0702, 'SYRIAC SUBLINEAR FULL STOP'],
  [0x3002, 'IDEOGRAPHIC FULL STOP'],
  [0xa4f8, 'LISU LETTER TONE MYA TI'],
  [0xa4fa, 'LISU LETTER TONE MYA CYA'],
  [0xa4fb, 'LISU LETTER TONE MYA BO'],
  [0xa60e, 'VAI FULL STOP'],
  [0xff61, 'HALFWIDTH IDEOGRAPHIC FULL STOP'],
  [0x10a50, 'KHAROSHTHI PUNCTUATION DOT'],
  [0x1d16d, 'MUSICAL SYMBOL COMBINING AUGMENTATION DOT'],
]);

/** The characters an NFKC fold must not introduce. */
const SEPARATOR_LIKE = /[/\\.%]/g;
const countSeparatorLike = (s: string): number => s.match(SEPARATOR_LIKE)?.length ?? 0;

export interface Lookalike {
  readonly index: number;
  readonly codePoint: number;
  readonly detail: string;
}

/**
 * The first Unicode look-alike of '/', '\', '.' or '%' in `s`, or null. Also reported: a
 * combining mark attached to '/' or '.' (or at the start), which disguises a separator or a dot
 * segment. Exported because the destination parser and other gates use the same rule.
 */
export function findLookalike(s: string): Lookalike | null {
  let prev = '';
  let index = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp > 0x7f) {
      const known = LOOKALIKES.get(cp);
      if (known !== undefined) return { index, codePoint: cp, detail: `${hex(cp)} ${known}` };
      const folded = ch.normalize('NFKC');
      if (folded !== ch && countSeparatorLike(folded) > 0) {
        return {
          index,
          codePoint: cp,
          detail: `${hex(cp)} folds to ${JSON.stringify(folded)} under NFKC`,
        };
      }
      if ((prev === '' || prev === '/' || prev === '.') && /^\p{M}$/u.test(ch)) {
        return {
          index,
          codePoint: cp,
          detail: `combining mark ${hex(cp)} attached to ${prev === '' ? 'the start' : `'${prev}'`}`,
        };
      }
    }
    prev = ch;
    index += ch.length;
  }
  // Belt and braces: per-character folding covers every case known today, but the whole-string
  // fold must not add separator-like characters either.
  if (!/^\p{ASCII}*$/u.test(s)) {
    const folded = s.normalize('NFKC');
    if (countSeparatorLike(folded) !== countSeparatorLike(s)) {
      return {
        index: 0,
        codePoint: 0,
        detail: `NFKC of the whole string adds '/', '\\', '.' or '%'`,
      };
    }
  }
  return null;
}

// Lone surrogates: with the u flag a well-formed pair is one code point and does not match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const NONCHARACTER = /\p{Noncharacter_Code_Point}/u;
// Raw bytes of an overlong or otherwise invalid UTF-8 sequence that were decoded as Latin-1
// (a C0/C1 lead byte is never valid UTF-8; E0 80..9F and F0 80..8F are overlong leads), or
// decoded leniently into U+FFFD.
const OVERLONG_MOJIBAKE =
  /[\u00C0\u00C1][\u0080-\u00BF]|\u00E0[\u0080-\u009F]|\u00F0[\u0080-\u008F]/;
// C0 controls, DEL and C1 controls (general category Cc).
const C0_C1 = /\p{Cc}/u;
// Format controls (bidi overrides, zero-width space, BOM, tag characters, soft hyphen…) and line
// or paragraph separators. ZWNJ and ZWJ (U+200C, U+200D) are kept: scripts and emoji need them.
const FORMAT_OR_LINE = /[\p{Cf}\p{Zl}\p{Zp}]/u;
const ALLOWED_FORMAT = new Set([0x200c, 0x200d]);

function firstFormatControl(s: string): number | null {
  const re = new RegExp(FORMAT_OR_LINE.source, 'gu');
  for (const m of s.matchAll(re)) {
    const cp = m[0].codePointAt(0) ?? 0;
    if (!ALLOWED_FORMAT.has(cp)) return cp;
  }
  return null;
}

function refuse(refusal: PathRefusal, detail: string): NormalizedPath {
  return { ok: false, refusal, detail };
}

/**
 * Lexical normalisation of an absolute path: collapse repeated '/', drop '.' segments, resolve
 * '..' (never above the root), drop a trailing '/' except for the root. Input must start with '/'.
 */
export function lexicalNormalize(absolute: string): string {
  const out: string[] = [];
  for (const seg of absolute.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/**
 * Normalise a raw path, or refuse it. The checks run in a fixed order, so a path with several
 * problems always gets the same refusal: empty, too_long, invalid_unicode, overlong_utf8,
 * nul_or_control, percent_encoded, backslash, unicode_slash, relative. Never throws.
 */
export function normalizePath(raw: string): NormalizedPath {
  if (typeof raw !== 'string') return refuse('empty', `not a string (${typeof raw})`);
  if (raw.length === 0) return refuse('empty', 'empty path');
  if (raw.length > MAX_PATH_LENGTH) {
    return refuse('too_long', `${raw.length} > ${MAX_PATH_LENGTH} characters`);
  }
  const surrogate = LONE_SURROGATE.exec(raw);
  if (surrogate !== null) {
    return refuse(
      'invalid_unicode',
      `lone surrogate ${hex(surrogate[0].charCodeAt(0))} at ${surrogate.index}`,
    );
  }
  const nonchar = NONCHARACTER.exec(raw);
  if (nonchar !== null) {
    return refuse(
      'invalid_unicode',
      `noncharacter ${hex(nonchar[0].codePointAt(0) ?? 0)} at ${nonchar.index}`,
    );
  }
  const fffd = raw.indexOf('\uFFFD');
  if (fffd >= 0) {
    return refuse(
      'overlong_utf8',
      `U+FFFD replacement character at ${fffd}: the path was decoded from invalid UTF-8`,
    );
  }
  const mojibake = OVERLONG_MOJIBAKE.exec(raw);
  if (mojibake !== null) {
    const bytes = [...mojibake[0]]
      .map((c) => c.charCodeAt(0).toString(16).padStart(2, '0'))
      .join(' ');
    return refuse(
      'overlong_utf8',
      `overlong UTF-8 bytes (${bytes}) decoded as Latin-1 at ${mojibake.index}`,
    );
  }
  const nul = raw.indexOf('\u0000');
  if (nul >= 0) return refuse('nul_or_control', `NUL at ${nul}`);
  const control = C0_C1.exec(raw);
  if (control !== null) {
    return refuse(
      'nul_or_control',
      `control character ${hex(control[0].charCodeAt(0))} at ${control.index}`,
    );
  }
  const format = firstFormatControl(raw);
  if (format !== null)
    return refuse('nul_or_control', `format or line-separator character ${hex(format)}`);
  const pct = raw.indexOf('%');
  if (pct >= 0) {
    const at = raw.slice(pct, pct + 3);
    const detail = /^%25/i.test(raw.slice(pct))
      ? `double-encoded escape ${raw.slice(pct, pct + 5)}`
      : /^%[0-9a-f]{2}/i.test(at)
        ? `percent escape ${at}`
        : /^%u[0-9a-f]{4}/i.test(raw.slice(pct, pct + 6))
          ? `%u escape ${raw.slice(pct, pct + 6)}`
          : `'%' at ${pct}`;
    return refuse('percent_encoded', `${detail}: encoded paths are refused, never decoded`);
  }
  const bs = raw.indexOf('\\');
  if (bs >= 0) return refuse('backslash', `backslash at ${bs}`);
  const look = findLookalike(raw);
  if (look !== null) {
    // A fold to '%' (FULLWIDTH PERCENT SIGN) is an encoding trick, not a slash.
    const folded = String.fromCodePoint(look.codePoint).normalize('NFKC');
    const reason: PathRefusal =
      look.codePoint !== 0 && folded === '%' ? 'percent_encoded' : 'unicode_slash';
    return refuse(reason, `${look.detail} at ${look.index}`);
  }
  if (!raw.startsWith('/')) return refuse('relative', 'path must be absolute (start with /)');
  return { ok: true, path: lexicalNormalize(raw) };
}

/**
 * Normalise a policy pattern: strip a trailing `/**` (or `**`), then {@link normalizePath}.
 * `/**` is the root. Any other `*` is refused: the only glob is the trailing one, and a pattern
 * such as `/etc/*` silently matching nothing would make a denylist fail open.
 * @throws InvalidPathPatternError
 */
export function normalizePattern(pattern: string): string {
  if (typeof pattern !== 'string')
    throw new InvalidPathPatternError(String(pattern), 'empty', 'not a string');
  let p = pattern;
  if (p === '/**') p = '/';
  else if (p.endsWith('/**')) p = p.slice(0, -3);
  else if (p.endsWith('**')) p = p.slice(0, -2);
  if (p.includes('*')) {
    throw new InvalidPathPatternError(pattern, 'glob', "only a trailing '/**' is supported");
  }
  const n = normalizePath(p);
  if (!n.ok) throw new InvalidPathPatternError(pattern, n.refusal, n.detail);
  return n.path;
}

/**
 * True iff `path` is `pattern` or lies below it. Both must already be normalised. Boundary-aware:
 * `/vault/user_docs_evil` is not under `/vault/user_docs`. The root `/` contains every path.
 */
export function pathUnder(path: string, pattern: string): boolean {
  if (typeof path !== 'string' || typeof pattern !== 'string') return false;
  if (!path.startsWith('/') || !pattern.startsWith('/')) return false;
  if (pattern === '/') return true;
  return path === pattern || path.startsWith(`${pattern}/`);
}

/**
 * Normalise `rawPath` and find the first pattern containing it. `matched` is the pattern as
 * written (so the caller can name the rule). Patterns may be raw or pre-normalised
 * (normalisation is idempotent).
 * @throws InvalidPathPatternError for an invalid pattern (never for an invalid path)
 */
export function matchPathList(rawPath: string, patterns: readonly string[]): PathListMatch {
  const n = normalizePath(rawPath);
  if (!n.ok) return { refused: n.refusal, matched: null, normalized: null };
  for (const p of patterns) {
    if (pathUnder(n.path, normalizePattern(p)))
      return { refused: null, matched: p, normalized: n.path };
  }
  return { refused: null, matched: null, normalized: n.path };
}
