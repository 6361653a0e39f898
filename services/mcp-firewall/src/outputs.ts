import { canonicalJson, type McpRedactionPattern } from '@secai/contracts';
import { redact, type RedactionCounts } from './redact.js';
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
  redactions: RedactionCounts;
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
 * Cleans one answer. Strings are visited in document order; every string counts against the
 * budget, and a `text` (a content item's, a resource's) past it is cut (to nothing once the budget
 * is spent), so the answer keeps its shape. Depth is checked first, iteratively.
 */
export function cleanOutput(
  raw: Record<string, unknown>,
  limit: number,
  categories: readonly McpRedactionPattern[],
): CleanOutput {
  const bytes = Buffer.byteLength(JSON.stringify(raw), 'utf8');
  const redactions: RedactionCounts = {};
  const texts: string[] = [];
  let budget = limit;
  let binary = 0;
  let truncated = false;
  // A string that is not a text (structured content) past the budget: refused, not cut.
  let overflow = false;

  const copy = (value: unknown, depth: number, key = ''): unknown => {
    if (depth > DEPTH_LIMIT) throw new OutputRefused('too_deep', bytes);
    if (typeof value === 'string') {
      // Redacted before it is cut: a cut must not leave the head of a secret that no rule matches.
      let text = redact(value, categories, redactions).text;
      const size = Buffer.byteLength(text, 'utf8');
      if (size > budget && key === 'text') {
        text = Buffer.from(text, 'utf8')
          .subarray(0, Math.max(0, budget))
          .toString('utf8')
          .replace(/\uFFFD$/, '');
        text += budget > 0 || !truncated ? `\n[secai: cut at ${limit} bytes of output]` : '';
        truncated = true;
        budget = 0;
      } else {
        if (size > budget) overflow = true;
        budget = Math.max(0, budget - size);
      }
      texts.push(text);
      return text;
    }
    if (Array.isArray(value)) return value.map((v) => copy(v, depth + 1));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (key === '_meta' || key === '__proto__') continue;
        if (typeof v === 'string' && isBinaryField(value as Record<string, unknown>, key)) {
          binary += v.length;
          out[key] = v;
        } else out[key] = copy(v, depth + 1, key);
      }
      return out;
    }
    return value;
  };
  // Checked before walking: a deep answer must not reach the recursive copy's limit only by luck.
  if (depthOf(raw) > DEPTH_LIMIT) throw new OutputRefused('too_deep', bytes);
  const result = copy(raw, 0) as Record<string, unknown>;
  if (overflow || binary > limit) throw new OutputRefused('too_large', bytes);
  return {
    result,
    bytes,
    digest: digestOf(canonicalJson(result)),
    truncated,
    redactions,
    injection: scanOutput(texts),
  };
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
