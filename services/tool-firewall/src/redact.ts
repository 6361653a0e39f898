import type { RedactionCountsData, RedactionKind } from '@secai/contracts';

// The redactor every output passes through before it leaves the firewall: pure, no I/O. Each
// rule replaces what it finds with `[REDACTED:<kind>]` and is counted. Rules run in order, and a
// later rule never matches an earlier marker. Every pattern is linear (no nested quantifiers),
// so a hostile file cannot make redaction slow.

export interface Redaction {
  text: string;
  counts: RedactionCountsData;
  /** Sum of `counts`. */
  total: number;
}

interface Rule {
  kind: RedactionKind;
  pattern: RegExp;
  /** The replacement; `$<name>` groups keep the part that is not secret (a key's name). */
  replace: string;
}

const marker = (kind: RedactionKind) => `[REDACTED:${kind}]`;
/**
 * A value in `name = value`: not a marker, not empty; a quoted value up to its closing quote
 * (spaces included), a bare one up to a delimiter.
 */
const VALUE = String.raw`(?!\[REDACTED)(?:(?<=")[^"\n]{1,512}(?=")|(?<=')[^'\n]{1,512}(?=')|[^\s"'&,;<>\`]+)`;
/** Start of a key name: not inside a longer word, but `DB_PASSWORD` counts (`_` allowed before). */
const NAME_START = String.raw`(?<![A-Za-z0-9])`;
/** `name`, `"name"`, then `=`, `:` or `=>` with optional quotes and spaces. */
const ASSIGN = String.raw`(?<sep>["']?\s{0,8}(?:=>|[:=])\s{0,8}["']?)`;

const RULES: readonly Rule[] = [
  {
    // Every PEM private key: RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP ... BLOCK. A block cut off
    // before its END line (a truncated read) is redacted to the end of the text.
    kind: 'private_key',
    pattern:
      /-----BEGIN (?<label>[A-Z0-9 ]{0,40})PRIVATE KEY(?<block> BLOCK)?-----[\s\S]*?(?:-----END \k<label>PRIVATE KEY\k<block>-----|$)/g,
    replace: marker('private_key'),
  },
  {
    kind: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
    replace: marker('jwt'),
  },
  {
    kind: 'bearer_token',
    pattern: /\b(?<scheme>[Bb]earer|BEARER)(?<space>\s{1,8})(?!\[REDACTED)[A-Za-z0-9._~+/=-]{16,}/g,
    replace: `$<scheme>$<space>${marker('bearer_token')}`,
  },
  {
    // scheme://user:password@host: the credentials go, the rest stays readable.
    kind: 'connection_string',
    pattern:
      /\b(?<scheme>[A-Za-z][A-Za-z0-9+.-]{1,30}:\/\/)(?!\[REDACTED)[^\s:/@'"`<>]{1,256}:[^\s/@'"`<>]{1,256}@/g,
    replace: `$<scheme>${marker('connection_string')}@`,
  },
  {
    kind: 'aws_access_key',
    pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
    replace: marker('aws_access_key'),
  },
  {
    kind: 'aws_secret_key',
    pattern: new RegExp(
      String.raw`(?<name>${NAME_START}(?:aws_secret_access_key|aws_secret_key|secret_access_key|SecretAccessKey))${ASSIGN}(?!\[REDACTED)[A-Za-z0-9/+=]{40}`,
      'gi',
    ),
    replace: `$<name>$<sep>${marker('aws_secret_key')}`,
  },
  {
    kind: 'github_token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
    replace: marker('github_token'),
  },
  {
    kind: 'slack_token',
    pattern:
      /\bxox[abprse]-[A-Za-z0-9-]{10,250}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]{20,200}/g,
    replace: marker('slack_token'),
  },
  {
    // Provider-shaped keys (OpenAI, this appliance's own, Google), then `api_key = value` forms.
    kind: 'api_key',
    pattern: /\b(?:sk-(?:proj-|secai-|ant-)?[A-Za-z0-9_-]{20,256}|AIza[0-9A-Za-z_-]{35})/g,
    replace: marker('api_key'),
  },
  {
    kind: 'api_key',
    pattern: new RegExp(
      String.raw`(?<name>${NAME_START}(?:api[_-]?key|x-api-key|access[_-]?token|auth[_-]?token|refresh[_-]?token|client[_-]?secret|secret[_-]?key|private[_-]?token|session[_-]?token))${ASSIGN}${VALUE}`,
      'gi',
    ),
    replace: `$<name>$<sep>${marker('api_key')}`,
  },
  {
    kind: 'password',
    pattern: new RegExp(
      String.raw`(?<name>${NAME_START}(?:password|passwd|passphrase|pwd|secret))${ASSIGN}${VALUE}`,
      'gi',
    ),
    replace: `$<name>$<sep>${marker('password')}`,
  },
];

/** `text` with every secret the rules know replaced, and how many of each kind. */
export function redact(text: string): Redaction {
  const counts: Partial<Record<RedactionKind, number>> = {};
  let total = 0;
  let out = text;
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    out = out.replace(rule.pattern, (...args: unknown[]) => {
      counts[rule.kind] = (counts[rule.kind] ?? 0) + 1;
      total++;
      // The last argument is the named groups when the pattern has any (else the input text).
      const last = args.at(-1);
      const groups = typeof last === 'object' ? (last as Record<string, string | undefined>) : {};
      return rule.replace.replace(/\$<(\w+)>/g, (_m, name: string) => groups[name] ?? '');
    });
  }
  return { text: out, counts, total };
}

/**
 * The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut on a character boundary.
 */
export function truncateUtf8(
  text: string,
  maxBytes: number,
): { text: string; bytes: number; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, bytes: bytes.length, truncated: false };
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that was cut.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { text: bytes.subarray(0, end).toString('utf8'), bytes: end, truncated: true };
}

/**
 * Every string of a JSON value redacted (a listing's names, a search's lines), each on its own:
 * a private key's BEGIN line in one string never swallows the strings after it.
 */
export function redactValue(value: unknown): { value: unknown; counts: RedactionCountsData } {
  const counts: Partial<Record<RedactionKind, number>> = {};
  const add = (c: RedactionCountsData) => {
    for (const [kind, n] of Object.entries(c) as [RedactionKind, number][])
      counts[kind] = (counts[kind] ?? 0) + n;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const r = redact(v);
      add(r.counts);
      return r.text;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return { value: walk(value), counts };
}
