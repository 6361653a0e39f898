import { BaseError, formatProblem, type DocumentProblem } from '@secai/contracts';

export type PolicyErrorCode = 'POLICY_UNREADABLE' | 'POLICY_INVALID' | 'POLICY_TOO_LARGE';

/**
 * One thing wrong with a policy document: the shared `DocumentProblem` (key path, stable code,
 * message) and the file it is in.
 */
export interface PolicyProblem extends DocumentProblem {
  /** The file as given (an absolute path when read from a directory; `policy.yaml` etc. otherwise). */
  file: string;
}

/**
 * Codes of the rules beyond the schema (the schema and YAML codes are the shared
 * `DOCUMENT_PROBLEM_CODES`).
 */
export const POLICY_PROBLEM_CODES = [
  /** A file other than policy.yaml / agent.yaml / mcp.yaml. */
  'FILE_UNEXPECTED',
  /** The same document given twice. */
  'FILE_DUPLICATE',
  /** A format both allowed and denied. */
  'FORMAT_CONFLICT',
  /** A tool allowed and denied. */
  'TOOL_CONFLICT',
  /** A tool with two allow entries, or denied twice. */
  'TOOL_DUPLICATE',
  /** A path pattern the matcher would not match as written. */
  'PATH_PATTERN_INVALID',
  /** An airlock destination that is not https://host[:port][/path] or a bare host. */
  'DESTINATION_INVALID',
  /** An agent action in more than one of always_deny, hard_approval, allowed_tools. */
  'AGENT_LIST_OVERLAP',
  /** mcp.yaml: a server, tool, argument rule, global rule or taint rule named twice. */
  'MCP_DUPLICATE',
  /** mcp.yaml: a server with both or neither of command and url. */
  'MCP_TRANSPORT',
  /** mcp.yaml: a server URL that is not canonical http:// on a loopback address. */
  'MCP_URL_INVALID',
  /** mcp.yaml: a command whose program is relative or not in normal form, or with control characters. */
  'MCP_COMMAND_INVALID',
  /** mcp.yaml: a pattern on an argument marked redact (its value never reaches the engine). */
  'MCP_ARG_CONFLICT',
  /** mcp.yaml: a resource glob with no scheme, a misplaced `**`, dot segments or controls. */
  'MCP_RESOURCE_PATTERN_INVALID',
  /** mcp.yaml: a global rule whose match has no condition (it would match every call). */
  'MCP_RULE_EMPTY',
  /** mcp.yaml: a taint rule naming a server or tool the document does not declare. */
  'MCP_REFERENCE_UNKNOWN',
  /** mcp.yaml: a regex that does not compile (RE2), is too long or compiles too large. */
  'REGEX_INVALID',
  /** Replay: the documents are not the canonical JSON their digest was computed over. */
  'NOT_CANONICAL',
  /** Replay: the documents digest to something else than the event says. */
  'DIGEST_MISMATCH',
  /** Anything unforeseen while loading (fail closed). */
  'LOAD_FAILED',
] as const;

/** A policy that cannot be used, with every problem found (not just the first). */
export class PolicyError extends BaseError<PolicyErrorCode> {
  readonly problems: PolicyProblem[];

  constructor(
    code: PolicyErrorCode,
    message: string,
    problems: PolicyProblem[],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.problems = problems;
  }
}

/** `file: path: message` (or `file: message` for a whole-file problem), for logs and the CLI. */
export function formatPolicyProblem(p: PolicyProblem): string {
  return `${p.file}: ${formatProblem(p)}`;
}

/** The problems of one file, located in it. */
export function inFile(file: string, problems: readonly DocumentProblem[]): PolicyProblem[] {
  return problems.map((p) => ({ file, path: p.path, code: p.code, message: p.message }));
}
