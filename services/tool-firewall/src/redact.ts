import {
  REDACTION_KINDS,
  redactSecrets,
  type RedactionCountsData,
  type RedactionKind,
  type SecretRedaction,
} from '@secai/contracts';

// What every output passes through before it leaves the firewall: the shared redactor of
// @secai/contracts over the kinds a tool event records (no e-mail or SSN: those are not secrets
// of a tool's output), the same over every string of a JSON value, and the UTF-8 cut.

export type Redaction = SecretRedaction<RedactionKind>;

/** `text` with every secret the redactor knows replaced, and how many of each kind. */
export function redact(text: string): Redaction {
  return redactSecrets(text, REDACTION_KINDS);
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
