import { sha256Hex, type McpCallInputData } from '@secai/contracts';
import type { McpCallDecisionInput } from './decision.js';

/**
 * Argument values the engine keeps per MCP request, counted in JSON characters (escapes
 * included), in argument order; a value past the budget is dropped (a rule that must read it
 * denies). Together with the names and taint it keeps the recorded input under the 16 KiB a
 * `policy.decided` input may have.
 */
export const MCP_VALUE_BUDGET = 8192;
/** Largest canonical `mcp_call` input recorded; a larger request is invalid (denied, recorded). */
export const MCP_MAX_INPUT_CHARS = 14_336;

export type McpNormalized =
  { ok: true; input: McpCallDecisionInput; subject: string } | { ok: false; problem: string };

/**
 * What `mcp_call` reads of a request: its shape checked (a `tools/call` names a tool, a
 * `resources/read` a resource, argument names are unique, the subject is the one derived from
 * the call), the argument digests left out, the values kept within the budget. The subject is
 * `<server>/<tool>` for a tool call, `<server>/<resource>` for a read, `<server>/<method>` else.
 */
export function normalizeMcp(mcp: McpCallInputData | undefined, subject: string): McpNormalized {
  if (mcp === undefined) return { ok: false, problem: 'mcp_call needs the mcp field' };
  const isCall = mcp.method === 'tools/call';
  const isRead = mcp.method === 'resources/read';
  if (isCall !== (mcp.tool !== undefined))
    return { ok: false, problem: 'mcp.tool is required for tools/call and only for it' };
  if (isRead && mcp.resource === undefined)
    return { ok: false, problem: 'mcp.resource is required for resources/read' };
  if (mcp.resource !== undefined && !isRead && mcp.method !== 'prompts/get')
    return { ok: false, problem: 'mcp.resource is only for resources/read and prompts/get' };
  const names = new Set<string>();
  for (const a of mcp.arguments) {
    if (names.has(a.name)) return { ok: false, problem: 'mcp.arguments names an argument twice' };
    names.add(a.name);
  }
  const derived = `${mcp.server}/${mcp.tool ?? (isRead ? mcp.resource : mcp.method)}`;
  if (subject !== '' && subject !== derived)
    return { ok: false, problem: 'subject must be empty or <server>/<tool|resource|method>' };

  let budget = MCP_VALUE_BUDGET;
  const args = mcp.arguments.map((a) => {
    const cost = a.value === undefined ? 0 : JSON.stringify(a.value).length;
    const keep = a.value !== undefined && cost <= budget;
    if (keep) budget -= cost;
    return { name: a.name, bytes: a.bytes, value: keep ? a.value! : null };
  });
  const input: McpCallDecisionInput = {
    domain: 'mcp_call',
    server: mcp.server,
    method: mcp.method,
    tool: mcp.tool ?? null,
    resource: mcp.resource ?? null,
    arguments: args,
    taint: [...mcp.taint],
  };
  // The canonical form has the same characters in another key order: the cheaper native length.
  const size = JSON.stringify(input).length;
  if (size > MCP_MAX_INPUT_CHARS)
    return {
      ok: false,
      problem: `the MCP request is too large to record (${size} characters; the limit is ${MCP_MAX_INPUT_CHARS})`,
    };
  return { ok: true, input, subject: derived };
}

/** The digest and the redacted copy of an MCP subject (a resource URI is cut to 512 characters). */
export function mcpSubject(subject: string): { digest: string; redacted: string } {
  return { digest: `sha256:${sha256Hex(subject)}`, redacted: subject.slice(0, 512) };
}
