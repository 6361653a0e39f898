import { MCP_REDACTION_PATTERNS, type McpRedactionPattern } from '@secai/contracts';

// Secret shapes taken out of argument values (before they reach the policy engine or an event)
// and out of every answer (before it reaches the client). The categories are the policy's
// `redaction.patterns` (reference §5.4), each widened where the original missed shapes: every PEM
// private key kind (the original matched only two header lines and left the key body), PuTTY
// keys, the well-known token prefixes, JWTs. A match becomes `[REDACTED:<category>]`; for
// `name=value` shapes the name stays so the text still reads.

interface Rule {
  /** Global, so `replace` visits every match. */
  pattern: RegExp;
  /** Keep group 1 (the `password=` part) when true. */
  keepPrefix?: boolean;
}

const RULES: Readonly<Record<McpRedactionPattern, readonly Rule[]>> = {
  private_key: [
    {
      // Any "BEGIN ... PRIVATE KEY" armour, through its END line (or to the end of a cut text).
      pattern:
        /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----|$)/g,
    },
    { pattern: /PuTTY-User-Key-File-\d+:[\s\S]*?(?:Private-MAC: *[0-9a-fA-F]+|$)/g },
  ],
  aws_key: [
    { pattern: /\b(?:AKIA|ABIA|ACCA|ASIA)[A-Z0-9]{16}\b/g },
    {
      pattern: /(\baws_?secret_?access_?key\b["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/gi,
      keepPrefix: true,
    },
  ],
  api_key: [
    {
      pattern:
        /\b(?:sk-(?:proj-|ant-|secai-)?[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{36})/g,
    },
    { pattern: /\bsecai1\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
    {
      pattern:
        /(\b(?:api[_-]?key|apikey|secret[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?token)\b["']?\s*[:=]\s*["']?)[A-Za-z0-9_\-./+=]{16,}/gi,
      keepPrefix: true,
    },
  ],
  bearer_token: [
    { pattern: /(\bbearer\s+)[A-Za-z0-9\-._~+/]{20,}=*/gi, keepPrefix: true },
    { pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  ],
  password: [
    {
      pattern: /(\b(?:password|passwd|pwd|passphrase)\b["']?\s*[:=]\s*["']?)[^\s"',;]{4,}/gi,
      keepPrefix: true,
    },
  ],
  connection_string: [
    {
      pattern:
        /\b(?:mongodb(?:\+srv)?|postgres(?:ql)?|mysql|mariadb|redis|rediss|amqps?|mssql|sqlserver):\/\/[^\s"'<>]+/gi,
    },
  ],
  email: [{ pattern: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b/g }],
  ssn: [{ pattern: /\b\d{3}-\d{2}-\d{4}\b/g }],
};

/** The order categories are applied in: armoured keys first, so no other rule cuts into one. */
const ORDER: readonly McpRedactionPattern[] = [
  'private_key',
  'aws_key',
  'api_key',
  'bearer_token',
  'password',
  'connection_string',
  'email',
  'ssn',
];

export type RedactionCounts = Partial<Record<McpRedactionPattern, number>>;

/** `text` with every secret of the enabled categories replaced, and how many of each. */
export function redact(
  text: string,
  categories: readonly McpRedactionPattern[],
  counts: RedactionCounts = {},
): { text: string; counts: RedactionCounts } {
  const enabled = new Set(categories);
  let out = text;
  for (const category of ORDER) {
    if (!enabled.has(category)) continue;
    for (const { pattern, keepPrefix } of RULES[category]) {
      out = out.replace(pattern, (...match: string[]) => {
        counts[category] = (counts[category] ?? 0) + 1;
        return `${keepPrefix ? match[1] : ''}[REDACTED:${category}]`;
      });
    }
  }
  return { text: out, counts };
}

/** Counts as an event records them (`[{category, count}]`, in catalogue order). */
export function countsList(counts: RedactionCounts): { category: string; count: number }[] {
  return MCP_REDACTION_PATTERNS.filter((c) => (counts[c] ?? 0) > 0).map((c) => ({
    category: c,
    count: counts[c]!,
  }));
}
