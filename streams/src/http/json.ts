/**
 * How deep a request body may nest. The gateways' bodies are a few levels deep (a decide batch
 * with a promotion result is six); a recursive step anywhere after parsing (a validator, a
 * digest's `JSON.stringify`, a normaliser) overflows its stack near 10,000 levels, so the bound
 * sits far below that and far above any real body.
 */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether a JSON text nests deeper than `limit` arrays or objects, read before it is parsed.
 * One pass, no recursion and no allocation, so the check cannot overflow on the input it exists
 * to refuse. Brackets inside strings do not count. Text that is not JSON at all is left to the
 * parser to refuse; bytes of a UTF-8 buffer are read as they are (a multi-byte sequence never
 * contains an ASCII byte, so quotes and brackets are found the same way).
 */
export function jsonTooDeep(text: string | Uint8Array, limit = MAX_JSON_DEPTH): boolean {
  const at: (i: number) => number =
    typeof text === 'string' ? (i) => text.charCodeAt(i) : (i) => text[i]!;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}
