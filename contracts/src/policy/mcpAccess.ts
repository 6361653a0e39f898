import { BaseError } from '../errors.js';
import { schemaProblems } from '../events/validate.js';
import {
  MCP_DEFAULT_RATE_LIMIT,
  MCP_DEFAULT_REDACTION,
  MCP_PATH_ARGUMENT_NAMES,
  MCP_TAINT,
  McpPolicySchema,
  type McpPolicy,
  type McpRedactionPattern,
  type McpResourceRuleData,
  type McpServerPolicyData,
  type McpToolPolicyData,
} from './mcpDocument.js';

// Reading the MCP document of the active policy, for the policy engine and the MCP firewall alike:
// pure functions over validated data, so both read one meaning of every key.

export type McpPolicyErrorCode = 'MCP_POLICY_INVALID';
/** The policy documents given do not hold a valid MCP document (the caller denies every call). */
export class McpPolicyError extends BaseError<McpPolicyErrorCode> {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super('MCP_POLICY_INVALID', message);
  }
}

/**
 * The MCP document of a policy: `documents` is the `policy.loaded` event's canonical JSON
 * (`{"agent":…,"mcp":…,"policy":…}`) or the same object parsed (`GET /api/v1/policy`). Null when
 * the policy has no `mcp.yaml`: then no MCP server is known and every MCP call is denied. Throws
 * `McpPolicyError` when the documents are not JSON or the MCP document does not satisfy the
 * schema (which a policy the engine loaded always does).
 */
export function mcpPolicyOf(documents: string | Record<string, unknown>): McpPolicy | null {
  let parsed: unknown = documents;
  if (typeof documents === 'string') {
    try {
      parsed = JSON.parse(documents);
    } catch (err) {
      throw new McpPolicyError(`policy documents are not JSON: ${(err as Error).message}`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new McpPolicyError('policy documents must be an object');
  }
  const mcp = (parsed as Record<string, unknown>)['mcp'];
  if (mcp === undefined) return null;
  const problems = schemaProblems(McpPolicySchema, mcp);
  if (problems.length > 0) {
    throw new McpPolicyError(`the MCP policy document is invalid: ${problems[0]}`, problems);
  }
  return mcp as McpPolicy;
}

/** The server of that name, or undefined (an unknown server: every call to it is denied). */
export function mcpServerOf(policy: McpPolicy, server: string): McpServerPolicyData | undefined {
  return policy.servers.find((s) => s.name === server);
}

/** The tool of that name on that server, or undefined. */
export function mcpToolOf(
  policy: McpPolicy,
  server: string,
  tool: string,
): McpToolPolicyData | undefined {
  return mcpServerOf(policy, server)?.tools?.find((t) => t.name === tool);
}

/** The server's token bucket: its `rate_limit`, else 120 per minute with a burst of 20. */
export function mcpRateLimitOf(server: McpServerPolicyData): {
  requests_per_minute: number;
  burst_size: number;
} {
  return server.rate_limit ?? { ...MCP_DEFAULT_RATE_LIMIT };
}

/** The secret shapes to redact: `redaction.patterns`, else every shape but `email`. */
export function mcpRedactionOf(policy: McpPolicy): readonly McpRedactionPattern[] {
  return policy.redaction?.patterns ?? MCP_DEFAULT_REDACTION;
}

/**
 * Whether the value of this argument must never leave the firewall in clear (its arg rule says
 * `redact: true`): then `McpCallInput` carries its size and digest only.
 */
export function mcpArgumentRedacted(tool: McpToolPolicyData | undefined, name: string): boolean {
  return tool?.arg_rules?.some((r) => r.name === name && r.redact === true) ?? false;
}

/** Whether `path_restrict` applies to an argument of this name (case-insensitive). */
export function isMcpPathArgument(name: string): boolean {
  return (MCP_PATH_ARGUMENT_NAMES as readonly string[]).includes(name.toLowerCase());
}

/**
 * Whether a resource URI matches a policy glob: `*` matches any run of characters within one
 * `/`-separated segment; a pattern ending in `/**` also matches the URI without it and anything
 * below it; every other character is literal. No regex is built: at worst the product of one segment's
 * lengths, never exponential.
 */
export function mcpResourceMatches(pattern: string, uri: string): boolean {
  const deep = pattern.endsWith('/**');
  const patternSegments = (deep ? pattern.slice(0, -3) : pattern).split('/');
  const uriSegments = uri.split('/');
  if (
    deep
      ? uriSegments.length < patternSegments.length
      : uriSegments.length !== patternSegments.length
  )
    return false;
  return patternSegments.every((p, i) => segmentMatches(p, uriSegments[i]!));
}

/** The first resource entry of the server whose pattern matches the URI. */
export function mcpResourceRuleOf(
  server: McpServerPolicyData,
  uri: string,
): { index: number; rule: McpResourceRuleData } | undefined {
  const index = (server.resources ?? []).findIndex((r) => mcpResourceMatches(r.pattern, uri));
  return index < 0 ? undefined : { index, rule: server.resources![index]! };
}

/**
 * The taint labels a call applies to its session when it EXECUTES (the firewall applies them then,
 * never at decision time): the tool's `taint` for `tools/call`, the matching resource entry's
 * `taint` for `resources/read`, and `untrusted` for anything an untrusted server returns
 * (`tools/call`, `resources/read`, `prompts/get`). In policy order, without duplicates.
 */
export function mcpTaintOnExecute(
  policy: McpPolicy,
  call: { server: string; method: string; tool?: string; resource?: string },
): string[] {
  const server = mcpServerOf(policy, call.server);
  if (server === undefined) return [];
  const labels: string[] = [];
  if (call.method === 'tools/call' && call.tool !== undefined) {
    labels.push(...(mcpToolOf(policy, call.server, call.tool)?.taint ?? []));
  }
  if (call.method === 'resources/read' && call.resource !== undefined) {
    labels.push(...(mcpResourceRuleOf(server, call.resource)?.rule.taint ?? []));
  }
  const returnsContent = ['tools/call', 'resources/read', 'prompts/get'].includes(call.method);
  if (returnsContent && server.trust_level === 'untrusted') labels.push(MCP_TAINT.untrusted);
  return [...new Set(labels)];
}

/** Wildcard match of one segment, `*` only: the two-pointer walk (each star resumed at most once per text position). */
function segmentMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
