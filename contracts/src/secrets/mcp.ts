import { MCP_REDACTION_PATTERNS, type McpRedactionPattern } from '../policy/mcpDocument.js';
import { redactSecrets, type SecretKind } from './redact.js';

// The MCP firewall's view of the redactor: its policy names categories (`redaction.patterns`,
// reference §5.4), each a set of the redactor's kinds; markers and counts are by category.

const KINDS_OF: Readonly<Record<McpRedactionPattern, readonly SecretKind[]>> = {
  private_key: ['private_key'],
  aws_key: ['aws_access_key', 'aws_secret_key'],
  api_key: ['api_key', 'github_token', 'slack_token'],
  bearer_token: ['bearer_token', 'jwt'],
  password: ['password'],
  connection_string: ['connection_string'],
  email: ['email'],
  ssn: ['ssn'],
};

const CATEGORY_OF = new Map<SecretKind, McpRedactionPattern>(
  MCP_REDACTION_PATTERNS.flatMap((c) => KINDS_OF[c].map((k) => [k, c] as const)),
);

export type McpRedactionCounts = Partial<Record<McpRedactionPattern, number>>;

/**
 * `text` with every secret of the enabled categories replaced by `[REDACTED:<category>]`; the
 * counts are added into `counts` (so one answer's strings sum up) and returned.
 */
export function redactMcp(
  text: string,
  categories: readonly McpRedactionPattern[],
  counts: McpRedactionCounts = {},
): { text: string; counts: McpRedactionCounts } {
  const r = redactSecrets(
    text,
    categories.flatMap((c) => KINDS_OF[c]),
    (kind) => CATEGORY_OF.get(kind)!,
  );
  for (const [kind, n] of Object.entries(r.counts) as [SecretKind, number][]) {
    const category = CATEGORY_OF.get(kind)!;
    counts[category] = (counts[category] ?? 0) + n;
  }
  return { text: r.text, counts };
}

/** Counts as an event records them (`[{category, count}]`, in catalogue order). */
export function mcpRedactionCountsList(
  counts: McpRedactionCounts,
): { category: string; count: number }[] {
  return MCP_REDACTION_PATTERNS.filter((c) => (counts[c] ?? 0) > 0).map((c) => ({
    category: c,
    count: counts[c]!,
  }));
}
