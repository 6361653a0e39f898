import { REDACTION_KINDS } from '../events/tools.js';

// The one secret redactor of the appliance: pure, no I/O. The tool firewall and the MCP firewall
// both run every output through it. Each rule replaces what it finds with a marker
// (`[REDACTED:<label>]`) and is counted under its kind. Rules run in order, and a later rule never
// matches an earlier marker, so redacting twice changes nothing. Every pattern is bounded and has
// no nested quantifiers, so a hostile file cannot make redaction slow.

/** What the redactor can find: the tool events' kinds, plus the opt-in personal data kinds. */
export const SECRET_KINDS = [...REDACTION_KINDS, 'email', 'ssn'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

export interface SecretRedaction<K extends SecretKind> {
  text: string;
  /** How many of each kind were replaced; kinds not found are absent. */
  counts: Partial<Record<K, number>>;
  /** Sum of `counts`. */
  total: number;
}

interface Rule {
  kind: SecretKind;
  pattern: RegExp;
  /** `$<name>` groups kept before the marker (a key's name, a URL's scheme) and after it. */
  before?: string;
  after?: string;
}

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
    // before its END line (a truncated read), or whose END line does not match, is redacted to
    // the end of the text.
    kind: 'private_key',
    pattern:
      /-----BEGIN (?<label>[A-Z0-9 ]{0,40})PRIVATE KEY(?<block> BLOCK)?-----[\s\S]*?(?:-----END \k<label>PRIVATE KEY\k<block>-----|$)/g,
  },
  {
    // PuTTY keys (.ppk): the header through the MAC line.
    kind: 'private_key',
    pattern: /PuTTY-User-Key-File-\d{1,3}:[\s\S]*?(?:Private-MAC: {0,8}[0-9a-fA-F]+|$)/g,
  },
  { kind: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  {
    kind: 'bearer_token',
    pattern: /\b(?<scheme>bearer)(?<space>\s{1,8})(?!\[REDACTED)[A-Za-z0-9._~+/=-]{16,}/gi,
    before: '$<scheme>$<space>',
  },
  {
    // scheme://user:password@host: the credentials go, the rest stays readable. The user may be
    // empty (`redis://:password@host`); the password runs to the last `@` of the authority, so
    // an unescaped `@` inside it leaks nothing.
    kind: 'connection_string',
    pattern:
      /\b(?<scheme>[A-Za-z][A-Za-z0-9+.-]{1,30}:\/\/)(?!\[REDACTED)[^\s:/@'"`<>]{0,256}:[^\s/'"`<>]{1,256}@/g,
    before: '$<scheme>',
    after: '@',
  },
  {
    kind: 'aws_access_key',
    pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
  },
  {
    kind: 'aws_secret_key',
    pattern: new RegExp(
      String.raw`(?<name>${NAME_START}(?:aws_?secret_?(?:access_?)?key|secret_access_key|SecretAccessKey))${ASSIGN}(?!\[REDACTED)[A-Za-z0-9/+=]{40}`,
      'gi',
    ),
    before: '$<name>$<sep>',
  },
  {
    kind: 'github_token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
  },
  {
    kind: 'slack_token',
    pattern:
      /\bxox[abposre]-[A-Za-z0-9-]{10,250}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]{20,200}/g,
  },
  {
    // Provider-shaped keys: OpenAI/Anthropic, this appliance's own (both shapes), Google, GitLab,
    // npm. Then the `api_key = value` forms.
    kind: 'api_key',
    pattern:
      /\b(?:sk-(?:proj-|secai-|ant-)?[A-Za-z0-9_-]{20,256}|secai1\.[A-Za-z0-9_-]{8,256}\.[A-Za-z0-9_-]{8,256}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,256}|npm_[A-Za-z0-9]{36})/g,
  },
  {
    kind: 'api_key',
    pattern: new RegExp(
      String.raw`(?<name>${NAME_START}(?:api[_-]?key|x-api-key|access[_-]?token|auth[_-]?token|refresh[_-]?token|client[_-]?secret|secret[_-]?key|private[_-]?token|session[_-]?token))${ASSIGN}${VALUE}`,
      'gi',
    ),
    before: '$<name>$<sep>',
  },
  {
    kind: 'password',
    pattern: new RegExp(
      String.raw`(?<name>${NAME_START}(?:password|passwd|passphrase|pwd|secret))${ASSIGN}${VALUE}`,
      'gi',
    ),
    before: '$<name>$<sep>',
  },
  { kind: 'email', pattern: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b/g },
  { kind: 'ssn', pattern: /\b\d{3}-\d{2}-\d{4}\b/g },
];

const fill = (template: string | undefined, groups: Record<string, string | undefined>) =>
  (template ?? '').replace(/\$<(\w+)>/g, (_m, name: string) => groups[name] ?? '');

/**
 * `text` with every secret of the given kinds replaced, and how many of each kind. `label` names
 * a kind in its marker (the MCP firewall marks by its policy's categories); by default the kind.
 */
export function redactSecrets<K extends SecretKind>(
  text: string,
  kinds: readonly K[],
  label: (kind: K) => string = (kind) => kind,
): SecretRedaction<K> {
  const enabled = new Set<SecretKind>(kinds);
  const counts: Partial<Record<K, number>> = {};
  let total = 0;
  let out = text;
  for (const rule of RULES) {
    if (!enabled.has(rule.kind)) continue;
    const kind = rule.kind as K;
    rule.pattern.lastIndex = 0;
    out = out.replace(rule.pattern, (...args: unknown[]) => {
      counts[kind] = (counts[kind] ?? 0) + 1;
      total++;
      // The last argument is the named groups when the pattern has any (else the input text).
      const last = args.at(-1);
      const groups = typeof last === 'object' ? (last as Record<string, string | undefined>) : {};
      return `${fill(rule.before, groups)}[REDACTED:${label(kind)}]${fill(rule.after, groups)}`;
    });
  }
  return { text: out, counts, total };
}
