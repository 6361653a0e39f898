import {
  NativeCall,
  type CallProblem,
  type CallResult,
  type CallViewData,
  type ToolListResponse,
} from '@secai/tool-firewall/api';
import type { CliContext } from '../context.js';
import { checkBounds } from '../bounds.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { callGateway, gatewayUrlOf, reachFailure, tokenFor, type Gateway } from './gateway.js';

// `secai tool list|call|log`: the tool firewall as the operator uses it. A call goes through
// every gate an agent's call does (validation, rate limit, policy, paths), as the cli identity;
// a refusal exits 2 and names the code, the stage, the deciding rule and the recorded decision.

type Out = (line: string) => void;

export const TOOL_FIREWALL: Gateway = {
  service: 'tool-firewall',
  label: 'tool firewall',
  envVar: 'SECAI_TOOL_FIREWALL_URL',
};

/**
 * The arguments from `--arg name=value` (a string) or `--arg name:=<json>` (any JSON value), or
 * from `--json '{...}'`; one way or the other, not both (pure).
 */
export function toolArguments(pairs: readonly string[], json?: string): Record<string, unknown> {
  if (json !== undefined && pairs.length > 0)
    throw new CliError('USAGE', 'give the arguments with --arg or with --json, not both');
  if (json !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new CliError('USAGE', '--json is not JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new CliError('USAGE', '--json must be a JSON object of arguments');
    return value as Record<string, unknown>;
  }
  const args: Record<string, unknown> = {};
  for (const pair of pairs) {
    const typed = /^([^=:]+):=([\s\S]*)$/.exec(pair);
    const plain = /^([^=]+)=([\s\S]*)$/.exec(pair);
    const [name, raw] = typed ? [typed[1]!, typed[2]!] : plain ? [plain[1]!, plain[2]!] : [];
    if (name === undefined || raw === undefined)
      throw new CliError('USAGE', `--arg ${pair}: write name=value, or name:=<json>`);
    if (Object.hasOwn(args, name)) throw new CliError('USAGE', `--arg ${name} is given twice`);
    if (typed) {
      try {
        args[name] = JSON.parse(raw);
      } catch {
        throw new CliError('USAGE', `--arg ${name}:= is not JSON`);
      }
    } else args[name] = raw;
  }
  return args;
}

/** The call request, held to the firewall's contract before it is sent (pure). */
export function toolCallRequest(tool: string, args: Record<string, unknown>) {
  const request = { tool, arguments: args };
  checkBounds('the tool call', NativeCall, request, { '/tool': 'TOOL' });
  return request;
}

/** A refusal as one line: status, code, stage, what decided it (pure). */
export function refusalLine(status: number, p: Partial<CallProblem>): string {
  const parts = [`${status} ${p.code ?? 'HTTP_ERROR'}: ${p.detail ?? 'refused'}`];
  if (p.stage) parts.push(`stage ${p.stage}`);
  if (p.ruleId) parts.push(`rule ${p.ruleId}`);
  if (p.decisionId) parts.push(`decision ${p.decisionId}`);
  if (p.callId) parts.push(`call ${p.callId}`);
  return parts.join('; ');
}

export async function toolCall(
  ctx: CliContext,
  request: ReturnType<typeof toolCallRequest>,
  opts: { url?: string; json?: boolean },
  out: Out,
  err: Out,
): Promise<void> {
  const url = gatewayUrlOf(ctx, TOOL_FIREWALL, opts.url);
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1/tools/call`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokenFor(ctx, TOOL_FIREWALL)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(request),
      redirect: 'error',
      signal: AbortSignal.timeout(120_000),
    });
  } catch (cause) {
    throw reachFailure(cause, TOOL_FIREWALL, url);
  }
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as Partial<CallProblem>;
    throw new CliError('REFUSED', refusalLine(res.status, problem));
  }
  const result = (await res.json()) as CallResult;
  if (opts.json) return out(JSON.stringify(result));
  const redacted = Object.entries(result.redactions).map(([k, n]) => `${k} ${n}`);
  err(
    `call ${result.callId}: ${result.truncated ? 'TRUNCATED, ' : ''}${redacted.length > 0 ? `redacted ${redacted.join(', ')}` : 'nothing redacted'}`,
  );
  out(result.output);
}

/** The tools as a table for a person (pure). */
export function toolListLines(list: ToolListResponse): string[] {
  return [
    `policy ${list.policyDigest ?? 'MISSING (no call runs)'}`,
    table(
      ['tool', 'policy', 'paths', 'arguments'],
      list.tools.map((t) => [
        t.name,
        t.policy,
        t.allowedPaths.join(', ') || '-',
        Object.keys((t.arguments as { properties?: object }).properties ?? {}).join(', '),
      ]),
    ),
  ];
}

export async function toolList(
  ctx: CliContext,
  opts: { url?: string; json?: boolean },
  out: Out,
): Promise<void> {
  const url = gatewayUrlOf(ctx, TOOL_FIREWALL, opts.url);
  const list = (await (
    await callGateway(ctx, TOOL_FIREWALL, url, '/api/v1/tools')
  ).json()) as ToolListResponse;
  if (opts.json) return out(JSON.stringify(list));
  for (const line of toolListLines(list)) out(line);
}

/** The recent calls as a table, newest first (pure). */
export function callLogLines(calls: readonly CallViewData[]): string[] {
  if (calls.length === 0) return ['no tool calls recorded'];
  return [
    table(
      ['at', 'call', 'caller', 'tool', 'outcome', 'why', 'bytes'],
      calls.map((c) => [
        c.at,
        c.callId,
        c.caller,
        c.tool ?? '-',
        c.outcome,
        c.outcome === 'denied' || c.outcome === 'failed'
          ? [c.stage, c.code, c.ruleId].filter(Boolean).join(' ')
          : c.truncated
            ? 'truncated'
            : '',
        c.outputBytes === null ? '-' : String(c.outputBytes),
      ]),
    ),
  ];
}

export async function toolLog(
  ctx: CliContext,
  opts: { url?: string; json?: boolean; limit: number },
  out: Out,
): Promise<void> {
  if (opts.limit > 500) throw new CliError('USAGE', '--limit is at most 500');
  const url = gatewayUrlOf(ctx, TOOL_FIREWALL, opts.url);
  const { calls } = (await (
    await callGateway(ctx, TOOL_FIREWALL, url, `/api/v1/calls?limit=${opts.limit}`)
  ).json()) as { calls: CallViewData[] };
  if (opts.json) return out(JSON.stringify(calls));
  for (const line of callLogLines(calls)) out(line);
}
