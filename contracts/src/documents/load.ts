import type { Static, TSchema } from '@sinclair/typebox';
import { capProblems, type DocumentResult } from './problem.js';
import { schemaDocumentProblems } from './wording.js';
import { parseStrictYaml, type DocumentLimits } from './yaml.js';

/** Problems reported per document unless `limits.maxProblems` says otherwise. */
export const DEFAULT_MAX_PROBLEMS = 100;

/**
 * Loads a YAML document strictly and validates it against a (closed) TypeBox schema. Pure: no
 * I/O, never throws. Returns the typed value, or every problem at once, each with its key path
 * and a stable code (`DOCUMENT_PROBLEM_CODES`). Rules the schema cannot express stay with the
 * caller, which reports them in the same `DocumentProblem` shape.
 *
 * @example
 * const r = loadStrictDocument(text, IntegrityConfigSchema, { maxBytes: 65_536, maxDepth: 8, maxAliases: 0 });
 * if (!r.ok) throw new DocumentError(path, r.problems);
 */
export function loadStrictDocument<S extends TSchema>(
  text: unknown,
  schema: S,
  limits: DocumentLimits,
): DocumentResult<Static<S>> {
  const max = limits.maxProblems ?? DEFAULT_MAX_PROBLEMS;
  const parsed = parseStrictYaml(text, limits);
  if (!parsed.ok) return { ok: false, problems: capProblems(parsed.problems, max) };
  return validateDocument(schema, parsed.value, max);
}

/** The schema half of `loadStrictDocument`, for values that did not come from YAML (JSON, events). */
export function validateDocument<S extends TSchema>(
  schema: S,
  value: unknown,
  maxProblems = DEFAULT_MAX_PROBLEMS,
): DocumentResult<Static<S>> {
  const problems = schemaDocumentProblems(schema, value);
  if (problems.length > 0) return { ok: false, problems: capProblems(problems, maxProblems) };
  return { ok: true, value: value as Static<S> };
}
