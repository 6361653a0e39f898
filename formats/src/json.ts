// A bounded, strict JSON reader (quarantine.md §2.2.4) for headers and config files that come from
// untrusted artifacts: strict UTF-8 (no BOM stripping, no replacement characters), duplicate keys
// refused at any depth, a `__proto__` key kept as data, no NaN/Infinity, depth and token bounds,
// nothing but whitespace after the one value, and integers optionally as exact bigints. Used by
// the safetensors header check and the diffusers members; never throws.

export type JsonValue =
  null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonLimits {
  /** Maximum nesting depth of arrays and objects (reference: 64). */
  readonly maxDepth: number;
  /** Maximum number of structural tokens `{ [ ] } , :` (reference: 1,000,000). */
  readonly maxTokens: number;
  /**
   * 'bigint': every integer literal (no fraction, no exponent) decodes to a bigint, so that
   * `1` and `1.0` stay distinguishable and integers beyond 2^53 stay exact. 'number': plain JS
   * numbers (integers outside the safe range lose precision).
   */
  readonly integers: 'number' | 'bigint';
}

export const DEFAULT_JSON_LIMITS: JsonLimits = {
  maxDepth: 64,
  maxTokens: 1_000_000,
  integers: 'number',
};

export type JsonErrorCode =
  | 'json_not_utf8'
  | 'json_syntax'
  /** Something other than whitespace after the one top-level value (issue 11 §1). */
  | 'json_trailing_data'
  | 'json_duplicate_key'
  | 'json_too_deep'
  | 'json_too_many_tokens';

export type JsonParseResult =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly code: JsonErrorCode; readonly detail: string };

class JsonFail extends Error {
  constructor(
    readonly code: JsonErrorCode,
    detail: string,
  ) {
    super(detail);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strictly decodes UTF-8 (no BOM stripping, no replacement characters); undefined if invalid. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Parses JSON from raw bytes under the given bounds. Never throws. */
export function parseBoundedJson(
  input: Uint8Array | string,
  limits: Partial<JsonLimits> = {},
): JsonParseResult {
  const text = typeof input === 'string' ? input : decodeUtf8Strict(input);
  if (text === undefined) return { ok: false, code: 'json_not_utf8', detail: 'invalid UTF-8' };
  const parser = new StrictJsonParser(text, { ...DEFAULT_JSON_LIMITS, ...limits });
  try {
    return { ok: true, value: parser.parseDocument() };
  } catch (error) {
    if (error instanceof JsonFail) return { ok: false, code: error.code, detail: error.message };
    // RangeError (e.g. string too long) or anything unexpected: still a rejection, not a crash.
    return { ok: false, code: 'json_syntax', detail: String(error) };
  }
}

class StrictJsonParser {
  private pos = 0;
  private tokens = 0;

  constructor(
    private readonly s: string,
    private readonly limits: JsonLimits,
  ) {}

  parseDocument(): JsonValue {
    this.ws();
    const value = this.value(0);
    this.ws();
    if (this.pos !== this.s.length) {
      this.fail(
        'json_trailing_data',
        `${this.s.length - this.pos} character(s) after the JSON value`,
      );
    }
    return value;
  }

  private fail(code: JsonErrorCode, detail: string): never {
    throw new JsonFail(code, `${detail} at offset ${this.pos}`);
  }

  private token(): void {
    this.tokens += 1;
    if (this.tokens > this.limits.maxTokens) {
      this.fail('json_too_many_tokens', `more than ${this.limits.maxTokens} structural tokens`);
    }
  }

  private ws(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos += 1;
      else break;
    }
  }

  private value(depth: number): JsonValue {
    const c = this.s[this.pos];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(
          'json_syntax',
          c === undefined ? 'unexpected end' : 'unexpected character',
        );
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (this.s.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    return this.fail('json_syntax', 'invalid literal');
  }

  private object(depth: number): { [key: string]: JsonValue } {
    if (depth > this.limits.maxDepth)
      this.fail('json_too_deep', `nesting deeper than ${this.limits.maxDepth}`);
    this.token();
    this.pos += 1;
    const out: { [key: string]: JsonValue } = {};
    const seen = new Set<string>();
    this.ws();
    if (this.s[this.pos] === '}') {
      this.token();
      this.pos += 1;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') this.fail('json_syntax', 'expected object key');
      const key = this.string();
      if (seen.has(key))
        this.fail('json_duplicate_key', `duplicate key ${JSON.stringify(key.slice(0, 128))}`);
      seen.add(key);
      this.ws();
      if (this.s[this.pos] !== ':') this.fail('json_syntax', "expected ':'");
      this.token();
      this.pos += 1;
      this.ws();
      const v = this.value(depth);
      // defineProperty: a "__proto__" key is data, never a prototype change.
      Object.defineProperty(out, key, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.ws();
      const c = this.s[this.pos];
      this.token();
      this.pos += 1;
      if (c === '}') return out;
      if (c !== ',') {
        this.pos -= 1;
        this.fail('json_syntax', "expected ',' or '}'");
      }
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > this.limits.maxDepth)
      this.fail('json_too_deep', `nesting deeper than ${this.limits.maxDepth}`);
    this.token();
    this.pos += 1;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.pos] === ']') {
      this.token();
      this.pos += 1;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth));
      this.ws();
      const c = this.s[this.pos];
      this.token();
      this.pos += 1;
      if (c === ']') return out;
      if (c !== ',') {
        this.pos -= 1;
        this.fail('json_syntax', "expected ',' or ']'");
      }
    }
  }

  private string(): string {
    const s = this.s;
    this.pos += 1; // opening quote
    let out = '';
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.fail('json_syntax', 'unterminated string');
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        out += s.slice(chunkStart, this.pos);
        this.pos += 1;
        return out;
      }
      if (c < 0x20) this.fail('json_syntax', 'control character in string');
      if (c !== 0x5c) {
        this.pos += 1;
        continue;
      }
      out += s.slice(chunkStart, this.pos);
      const e = s[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = s.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('json_syntax', 'invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.pos -= 2;
          this.fail('json_syntax', 'invalid escape');
      }
      chunkStart = this.pos;
    }
  }

  private number(): number | bigint {
    const m = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    m.lastIndex = this.pos;
    const match = m.exec(this.s);
    if (match === null) return this.fail('json_syntax', 'invalid number');
    const text = match[0];
    this.pos += text.length;
    const isInteger = match[1] === undefined && match[2] === undefined;
    if (isInteger && this.limits.integers === 'bigint') {
      if (text.length > 400) this.fail('json_syntax', 'integer literal too long');
      return BigInt(text);
    }
    const n = Number(text);
    if (!Number.isFinite(n)) this.fail('json_syntax', 'number out of range');
    return n;
  }
}
