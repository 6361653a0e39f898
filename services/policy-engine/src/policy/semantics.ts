import type { DocumentProblem } from '@secai/contracts';
import { destinationProblem, pathPatternProblem } from './patterns.js';

// Semantic rules (what the schema cannot say). Written defensively: they also run on documents
// that failed the schema, so one load reports every problem.

/** The main policy's rules beyond its schema. */
export function policySemantics(doc: Record<string, unknown>): DocumentProblem[] {
  const out: DocumentProblem[] = [];
  const models = record(doc['models']);
  const allowedFormats = new Set(list(models['allowed_formats']).filter(isString));
  list(models['deny_formats']).forEach((f, i) => {
    if (isString(f) && allowedFormats.has(f)) {
      out.push({
        path: `models.deny_formats[${i}]`,
        code: 'FORMAT_CONFLICT',
        message: `format ${JSON.stringify(f)} is also in models.allowed_formats: a format is either allowed or denied`,
      });
    }
  });

  const tools = record(doc['tools']);
  const allowed = new Map<string, number>();
  list(tools['allow']).forEach((raw, i) => {
    const entry = record(raw);
    const name = entry['name'];
    if (isString(name)) {
      const first = allowed.get(name);
      if (first === undefined) allowed.set(name, i);
      else {
        out.push({
          path: `tools.allow[${i}].name`,
          code: 'TOOL_DUPLICATE',
          message: `tool ${JSON.stringify(name)} already has an allow entry (tools.allow[${first}]); only one entry per tool`,
        });
      }
    }
    for (const key of ['paths_allowlist', 'paths_denylist'] as const) {
      list(entry[key]).forEach((p, j) => {
        const problem = isString(p) ? pathPatternProblem(p) : undefined;
        if (problem !== undefined)
          out.push({
            path: `tools.allow[${i}].${key}[${j}]`,
            code: 'PATH_PATTERN_INVALID',
            message: problem,
          });
      });
    }
  });
  const denied = new Map<string, number>();
  list(tools['deny']).forEach((raw, i) => {
    const name = record(raw)['name'];
    if (!isString(name)) return;
    const allowedAt = allowed.get(name);
    const deniedAt = denied.get(name);
    if (allowedAt !== undefined) {
      out.push({
        path: `tools.deny[${i}].name`,
        code: 'TOOL_CONFLICT',
        message: `tool ${JSON.stringify(name)} is also allowed by tools.allow[${allowedAt}]: a tool is either allowed or denied`,
      });
    } else if (deniedAt !== undefined) {
      out.push({
        path: `tools.deny[${i}].name`,
        code: 'TOOL_DUPLICATE',
        message: `tool ${JSON.stringify(name)} is already denied by tools.deny[${deniedAt}]`,
      });
    } else denied.set(name, i);
  });

  list(record(doc['airlock'])['allowed_destinations']).forEach((d, i) => {
    const problem = isString(d) ? destinationProblem(d) : undefined;
    if (problem !== undefined)
      out.push({
        path: `airlock.allowed_destinations[${i}]`,
        code: 'DESTINATION_INVALID',
        message: problem,
      });
  });
  return out;
}

const AGENT_LISTS = ['always_deny', 'hard_approval', 'allowed_tools'] as const;

/** The agent policy's rules beyond its schema. */
export function agentSemantics(doc: Record<string, unknown>): DocumentProblem[] {
  const out: DocumentProblem[] = [];
  const workspace = record(doc['workspace']);
  for (const scope of ['readable', 'writable'] as const) {
    list(workspace[scope]).forEach((p, j) => {
      const problem = isString(p) ? pathPatternProblem(p) : undefined;
      if (problem !== undefined)
        out.push({
          path: `workspace.${scope}[${j}]`,
          code: 'PATH_PATTERN_INVALID',
          message: problem,
        });
    });
  }
  // Each action has exactly one verdict: always_deny, hard_approval and allowed_tools are disjoint.
  const firstSeen = new Map<string, string>();
  for (const name of AGENT_LISTS) {
    const own = new Set<string>();
    list(doc[name]).forEach((action, i) => {
      if (!isString(action) || own.has(action)) return;
      own.add(action);
      const elsewhere = firstSeen.get(action);
      if (elsewhere === undefined) firstSeen.set(action, `${name}[${i}]`);
      else {
        out.push({
          path: `${name}[${i}]`,
          code: 'AGENT_LIST_OVERLAP',
          message: `${JSON.stringify(action)} is also in ${elsewhere}: always_deny, hard_approval and allowed_tools must not overlap`,
        });
      }
    });
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
// Readers that never throw on a document that failed its schema (also used by mcpSemantics.ts).
export const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
export const isString = (v: unknown): v is string => typeof v === 'string';
