import { BaseError } from '../errors.js';

/**
 * The problem codes the shared loader reports. Services add their own codes for semantic rules
 * (a problem's `code` is any stable upper-snake string), but never reuse these for something else.
 */
export const DOCUMENT_PROBLEM_CODES = [
  /** The input is not a string. */
  'NOT_TEXT',
  /** Over `limits.maxBytes` (UTF-8 bytes), checked before parsing. */
  'TOO_LARGE',
  /** YAML syntax: anything the parser refuses that has no more precise code below. */
  'YAML_INVALID',
  /** A key appears twice in one mapping. */
  'DUPLICATE_KEY',
  /** A tag the strict schema does not resolve (`!custom`, `!!binary`, `!!set` …). */
  'TAG_FORBIDDEN',
  /** An anchor or alias where `limits.maxAliases` is 0. */
  'ALIAS_FORBIDDEN',
  /** More alias nodes than `limits.maxAliases`, or an expansion beyond it (a billion laughs). */
  'TOO_MANY_ALIASES',
  /** Collections nested deeper than `limits.maxDepth`. */
  'TOO_DEEP',
  /** The text holds no document (empty, or only comments). */
  'NO_DOCUMENT',
  /** More than one document where one is expected. */
  'MULTIPLE_DOCUMENTS',
  /** Schema: a required key is absent. */
  'KEY_MISSING',
  /** Schema: a key the (closed) schema does not know. */
  'KEY_UNKNOWN',
  /** Schema: a value of the wrong type (a list where a mapping belongs, a string for a number …). */
  'TYPE_MISMATCH',
  /** Schema: the right type, but out of range, not matching a pattern, not one of the choices … */
  'VALUE_INVALID',
  /** Schema: a list whose entries must be unique holds one twice. */
  'DUPLICATE_ENTRY',
  /** Reading: the file does not exist. */
  'FILE_MISSING',
  /** Reading: the file exists but cannot be opened or read (permissions, a symlink refused …). */
  'FILE_UNREADABLE',
  /** Reading: the path is not a regular file (a directory, a FIFO …). */
  'NOT_A_FILE',
  /** Reading: the bytes are not valid UTF-8. */
  'NOT_UTF8',
  /** The list was cut at `maxProblems`; this last problem says how many more there were. */
  'TOO_MANY_PROBLEMS',
] as const;
export type DocumentProblemCode = (typeof DOCUMENT_PROBLEM_CODES)[number];

/**
 * One thing wrong with a document, in the one shape every loader, CLI, HTTP problem body and
 * reload error of the appliance uses.
 */
export interface DocumentProblem {
  /** Key path: `rules[2].match.path`, `budgets["a.b"]`; '' for the whole document or file. */
  path: string;
  /** Stable code: one of `DOCUMENT_PROBLEM_CODES`, or a service's own semantic code. */
  code: string;
  /** For people: what is wrong and, where it helps, what was found. */
  message: string;
}

/** What `loadStrictDocument` and the other steps return: the value, or every problem found. */
export type DocumentResult<T> = { ok: true; value: T } | { ok: false; problems: DocumentProblem[] };

export type DocumentErrorCode = 'DOCUMENT_INVALID';

/** A document that cannot be used; `problems` lists every problem, each with its key path. */
export class DocumentError extends BaseError<DocumentErrorCode> {
  readonly problems: readonly DocumentProblem[];
  /** What was loaded (a file path or a name such as `integrity.yaml`). */
  readonly subject: string;

  constructor(
    subject: string,
    problems: readonly DocumentProblem[],
    options?: { cause?: unknown },
  ) {
    super('DOCUMENT_INVALID', `${subject} is invalid: ${summariseProblems(problems)}`, options);
    this.subject = subject;
    this.problems = problems;
  }
}

/** `path: message`, or `message` alone for a whole-document problem (logs, CLI lines). */
export function formatProblem(p: DocumentProblem): string {
  return p.path === '' ? p.message : `${p.path}: ${p.message}`;
}

/** The first few problems on one line, and how many more there are. */
export function summariseProblems(problems: readonly DocumentProblem[], shown = 5): string {
  const head = problems.slice(0, shown).map(formatProblem).join('; ');
  const rest = problems.length - shown;
  return rest > 0 ? `${head}; … and ${rest} more` : head;
}

/** A problem at `path`: a small constructor so call sites read as data. */
export function problem(path: string, code: string, message: string): DocumentProblem {
  return { path, code, message };
}

/**
 * Keeps a list within what events and problem bodies can carry: at most `max` problems (the last
 * one says how many more there were) and `maxLength` characters per path and message.
 */
export function capProblems<P extends DocumentProblem>(
  problems: readonly P[],
  max: number,
  maxLength = 512,
): P[] {
  const cut = (s: string): string => (s.length > maxLength ? `${s.slice(0, maxLength - 1)}…` : s);
  const clipped = problems.map((p) => ({ ...p, path: cut(p.path), message: cut(p.message) }));
  if (clipped.length <= max) return clipped;
  const kept = clipped.slice(0, Math.max(0, max - 1));
  const last = clipped[max - 1] as P;
  return [
    ...kept,
    {
      ...last,
      path: '',
      code: 'TOO_MANY_PROBLEMS',
      message: `… and ${clipped.length - kept.length} more problems`,
    },
  ];
}
