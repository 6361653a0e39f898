import {
  canonicalJson,
  redactMcp,
  type McpRedactionCounts,
  type McpRedactionPattern,
} from '@secai/contracts';
import { scanOutput, type InjectionReport } from './scan/injection.js';
import { digestOf } from './text.js';

// What an upstream answered, made safe to hand to a client (pure): at most `limit` bytes of text
// (past it the text is cut and says so), every string redacted of secrets, every text scanned for
// a prompt injection, the upstream's `_meta` dropped. Binary payloads (`blob`, an image's `data`)
// are counted but neither redacted nor scanned: they are base64, and cutting them would corrupt
// them, so a binary answer past the limit is refused instead.

export interface CleanOutput {
  result: Record<string, unknown>;
  /** Bytes of the upstream's answer as JSON. */
  bytes: number;
  /** SHA-256 of what the client receives. */
  digest: string;
  truncated: boolean;
  redactions: McpRedactionCounts;
  injection: InjectionReport;
}

const BINARY_KEYS = new Set(['blob']);
const DEPTH_LIMIT = 64;

function isBinaryField(parent: Record<string, unknown>, key: string): boolean {
  if (BINARY_KEYS.has(key)) return true;
  return key === 'data' && (parent.type === 'image' || parent.type === 'audio');
}

/** Thrown when an answer cannot be made safe (too deep, or binary past the limit). */
export class OutputRefused extends Error {
  constructor(
    readonly reason: 'too_large' | 'too_deep',
    readonly bytes: number,
  ) {
    super(reason === 'too_large' ? 'the answer is too large' : 'the answer nests too deeply');
    this.name = 'OutputRefused';
  }
}

/**
 * Cleans one answer. Every string is redacted. Strings that are not a `text` (URIs, types,
 * structured content) are never cut: past the limit together, the answer is refused. What they
 * leave of the limit is the budget of the texts (a content item's, a resource's), which are cut
 * where it runs out (to nothing after that), so the answer keeps its shape. Depth is checked
 * first, iteratively.
 */
export function cleanOutput(
  raw: Record<string, unknown>,
  limit: number,
  categories: readonly McpRedactionPattern[],
): CleanOutput {
  const bytes = Buffer.byteLength(JSON.stringify(raw), 'utf8');
  if (depthOf(raw) > DEPTH_LIMIT) throw new OutputRefused('too_deep', bytes);
  const redactions: McpRedactionCounts = {};
  const texts: string[] = [];
  const { structural, binary } = sizesOf(raw);
  if (structural > limit || binary > limit) throw new OutputRefused('too_large', bytes);
  let budget = limit - structural;
  let truncated = false;

  const copy = (value: unknown, key: string): unknown => {
    if (typeof value === 'string') {
      // Redacted before it is cut: a cut must not leave the head of a secret that no rule matches.
      let text = redactMcp(value, categories, redactions).text;
      if (key === 'text') {
        const size = Buffer.byteLength(text, 'utf8');
        if (size > budget) {
          text = Buffer.from(text, 'utf8')
            .subarray(0, budget)
            .toString('utf8')
            .replace(/\uFFFD$/, '');
          text += truncated ? '' : `\n[secai: cut at ${limit} bytes of output]`;
          truncated = true;
          budget = 0;
        } else budget -= size;
      }
      texts.push(text);
      return text;
    }
    if (Array.isArray(value)) return value.map((v) => copy(v, ''));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (k === '_meta' || k === '__proto__') continue;
        out[k] =
          typeof v === 'string' && isBinaryField(value as Record<string, unknown>, k)
            ? v
            : copy(v, k);
      }
      return out;
    }
    return value;
  };
  const result = copy(raw, '') as Record<string, unknown>;
  return {
    result,
    bytes,
    digest: digestOf(canonicalJson(result)),
    truncated,
    redactions,
    injection: scanOutput(texts),
  };
}

/** Bytes of the strings that are not texts, and of binary payloads (before redaction). */
function sizesOf(raw: unknown): { structural: number; binary: number } {
  let structural = 0;
  let binary = 0;
  const stack: [unknown, string, Record<string, unknown> | null][] = [[raw, '', null]];
  while (stack.length > 0) {
    const [v, key, parent] = stack.pop()!;
    if (typeof v === 'string') {
      if (key === '_meta') continue;
      if (parent !== null && isBinaryField(parent, key)) binary += v.length;
      else if (key !== 'text') structural += Buffer.byteLength(v, 'utf8');
    } else if (Array.isArray(v)) for (const item of v) stack.push([item, '', null]);
    else if (v !== null && typeof v === 'object')
      for (const [k, item] of Object.entries(v as Record<string, unknown>))
        if (k !== '_meta') stack.push([item, k, v as Record<string, unknown>]);
  }
  return { structural, binary };
}

/** Nesting depth, measured iteratively. */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (d > DEPTH_LIMIT) return d;
    if (Array.isArray(v)) for (const item of v) stack.push([item, d + 1]);
    else if (v !== null && typeof v === 'object')
      for (const item of Object.values(v as Record<string, unknown>)) stack.push([item, d + 1]);
  }
  return max;
}
