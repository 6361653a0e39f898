import { normalizeForScan, keyAsWords } from './normalize.js';
import { HIDING_CHARACTERS, signalsIn } from './signals.js';

// The tool-poisoning scan (issue 13 §3): a tool is judged on everything a model reads about it
// (name, title, description, annotations, every string and key of its input and output schemas:
// nested descriptions, enum values, defaults, examples) before any client sees it. A tool with
// any finding is refused whole and recorded; nothing of it is listed.

export interface Finding {
  /** `poisoned.<signal>`, `schema_too_deep`, `schema_too_large`, `description_too_long`. */
  code: string;
  /** Where and what, in the firewall's words (never the hostile text itself). */
  detail: string;
}

/** Deepest nesting of a tool definition accepted (a schema deeper is refused, not walked). */
export const MAX_TOOL_DEPTH = 32;
/** Most strings and keys walked in one tool definition. */
export const MAX_TOOL_NODES = 10_000;
/** Longest description or schema text read as instructions a person could still review. */
export const MAX_DESCRIPTION_CHARS = 16 * 1024;

interface Text {
  where: string;
  text: string;
}

/**
 * Every string (and object key) of `value`, with its JSON path, walked iteratively so a deep
 * definition cannot overflow the stack; `null` when it is deeper or larger than the bounds.
 */
export function textsOf(value: unknown, root: string): Text[] | 'too_deep' | 'too_large' {
  const out: Text[] = [];
  const stack: { value: unknown; where: string; depth: number }[] = [
    { value, where: root, depth: 0 },
  ];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: v, where, depth } = stack.pop()!;
    if (depth > MAX_TOOL_DEPTH) return 'too_deep';
    if (++nodes > MAX_TOOL_NODES) return 'too_large';
    if (typeof v === 'string') out.push({ where, text: v });
    else if (Array.isArray(v))
      v.forEach((item, i) =>
        stack.push({ value: item, where: `${where}[${i}]`, depth: depth + 1 }),
      );
    else if (v !== null && typeof v === 'object')
      for (const [key, child] of Object.entries(v)) {
        out.push({ where: `${where}{key}`, text: keyAsWords(key) });
        stack.push({ value: child, where: `${where}.${key.slice(0, 40)}`, depth: depth + 1 });
      }
  }
  return out;
}

/** What is wrong with one text of a tool (empty: nothing). */
function findingsIn({ where, text }: Text): Finding[] {
  const findings: Finding[] = [];
  if (HIDING_CHARACTERS.test(text))
    findings.push({
      code: 'poisoned.invisible_unicode',
      detail: `${where} holds invisible characters`,
    });
  for (const { signal, what } of signalsIn(normalizeForScan(text)))
    findings.push({ code: `poisoned.${signal}`, detail: `${where} ${what}` });
  if (text.length > MAX_DESCRIPTION_CHARS)
    findings.push({
      code: 'description_too_long',
      detail: `${where} is ${text.length} characters (at most ${MAX_DESCRIPTION_CHARS})`,
    });
  return findings;
}

/**
 * The findings for one upstream tool definition, one per code (the first place it was found),
 * in a stable order. Empty: the tool may be listed (if it is also pinned and not shadowing).
 */
export function scanTool(tool: Record<string, unknown>): Finding[] {
  const texts = textsOf(tool, 'tool');
  if (texts === 'too_deep')
    return [
      { code: 'schema_too_deep', detail: `the definition nests deeper than ${MAX_TOOL_DEPTH}` },
    ];
  if (texts === 'too_large')
    return [
      { code: 'schema_too_large', detail: `the definition has more than ${MAX_TOOL_NODES} parts` },
    ];
  const byCode = new Map<string, Finding>();
  for (const text of texts)
    for (const f of findingsIn(text)) if (!byCode.has(f.code)) byCode.set(f.code, f);
  return [...byCode.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}
