import {
  MCP_TAINT,
  isMcpPathArgument,
  mcpArgumentRedacted,
  mcpResourceRuleOf,
  mcpServerOf,
  type McpGlobalRuleData,
  type McpPolicy,
  type McpServerPolicyData,
  type McpTaintRuleData,
  type McpToolPolicyData,
} from '@secai/contracts';
import { Trace, type DecisionValue, type McpCallDecisionInput, type Verdict } from '../decision.js';
import {
  normalizePath,
  normalizePattern,
  pathUnder,
  regexFinds,
  resourceRefusal,
} from '../match/index.js';

// `mcp_call`: one MCP request, decided on mcp.yaml (reference §5.3, its defects fixed). Order:
// global rules, taint rules, the built-in toxic-flow rules, the server, the method, the tool and
// its arguments. A rule that denies ends the evaluation; a rule that asks is noted and the later
// rules still run, so an approval never lets through a call that a later rule denies (the
// original returned at the first match, so an approval-required rule skipped argument and path
// checks). The answer is then the first ask noted, else what the server's policy says.

type Hit = { decision: DecisionValue; ruleId: string; reason: string };
const LIST_METHODS = new Set(['tools/list', 'resources/list', 'prompts/list']);
const MAX_ASKS_TRACED = 8;

/** Decides one MCP request. Pure: reads only the input and the MCP document. */
export function decideMcpCall(input: McpCallDecisionInput, mcp: McpPolicy | undefined): Verdict {
  const trace = new Trace();
  if (mcp === undefined)
    return trace.conclude(
      'deny',
      'mcp.policy_absent',
      'the policy has no mcp.yaml: no MCP server is known',
    );
  const server = mcpServerOf(mcp, input.server);
  const tool =
    input.method === 'tools/call' && input.tool !== null
      ? server?.tools?.find((t) => t.name === input.tool)
      : undefined;
  const asks: Hit[] = [];
  /** Records a hit: a deny concludes, an ask is noted and evaluation goes on. */
  const hit = (h: Hit): Verdict | undefined => {
    if (h.decision === 'deny') return trace.conclude('deny', h.ruleId, h.reason);
    asks.push(h);
    // The trace holds at most 64 steps: past a few, further asks are only counted in the answer.
    if (asks.length <= MAX_ASKS_TRACED) {
      const why = `${h.reason} (approval; later rules still apply)`;
      trace.steps.push({ ruleId: h.ruleId, matched: true, why: why.slice(0, 256) });
    }
    return undefined;
  };

  // 1. Global rules, in order: before the server lookup, so they apply to unknown servers too.
  const globals = mcp.global_rules ?? [];
  let globalHits = 0;
  for (const rule of globals) {
    const h = globalRuleHit(rule, input, server, tool);
    if (h === undefined) continue;
    globalHits++;
    const verdict = hit(h);
    if (verdict) return verdict;
  }
  if (globalHits === 0) trace.miss('mcp.global', considered('global', globals));

  // 2. Taint rules, then the built-in toxic-flow rules no policy can remove.
  const outward = tool?.outward === true;
  if (input.taint.length === 0) trace.miss('mcp.taint', 'the session carries no taint');
  else {
    const taintRules = mcp.taint_rules ?? [];
    let taintHits = 0;
    for (const rule of taintRules) {
      if (!taintRuleMatches(rule, input, outward)) continue;
      taintHits++;
      const verdict = hit({
        decision: rule.action,
        ruleId: `mcp.taint.${rule.name}`,
        reason: rule.reason,
      });
      if (verdict) return verdict;
    }
    if (taintHits === 0) trace.miss('mcp.taint', considered('taint', taintRules));
    const tainted = [MCP_TAINT.private, MCP_TAINT.untrusted].filter((l) => input.taint.includes(l));
    if (!outward) trace.miss('mcp.toxic_flow', 'not a call of an outward tool');
    else if (tainted.length === 2)
      return trace.conclude(
        'deny',
        'mcp.toxic_flow',
        'the session holds private data and untrusted content: a tool that reaches out is refused',
      );
    else if (tainted.length === 1) {
      const verdict = hit({
        decision: 'ask',
        ruleId: 'mcp.outward_after_taint',
        reason: `the session carries ${tainted[0]} taint: a tool that reaches out needs approval`,
      });
      if (verdict) return verdict;
    } else trace.miss('mcp.toxic_flow', 'the session carries neither private nor untrusted taint');
  }

  // 3. The server.
  if (server === undefined)
    return trace.conclude(
      'deny',
      'mcp.server_unknown',
      `no MCP server ${input.server} in the policy`,
    );
  trace.miss('mcp.server_unknown', `server ${server.name} is known (trust ${server.trust_level})`);

  // 4. The method, and 5. the tool.
  const finish = (h: Hit): Verdict => {
    if (h.decision === 'deny' || asks.length === 0)
      return trace.conclude(h.decision, h.ruleId, h.reason);
    trace.steps.push({
      ruleId: h.ruleId,
      matched: true,
      why: `${h.reason}; an earlier rule asks`.slice(0, 256),
    });
    const first = asks[0]!;
    return trace.conclude('ask', first.ruleId, first.reason);
  };
  if (LIST_METHODS.has(input.method))
    return finish({
      decision: 'allow',
      ruleId: 'mcp.list_methods',
      reason: `${input.method} is allowed on a known server`,
    });
  if (input.method === 'prompts/get') {
    return finish(
      server.prompts === 'allow'
        ? {
            decision: 'allow',
            ruleId: 'mcp.prompts_get',
            reason: `server ${server.name} allows prompts/get`,
          }
        : {
            decision: 'deny',
            ruleId: 'mcp.prompts_denied',
            reason: `server ${server.name} does not allow prompts/get (prompts: allow)`,
          },
    );
  }
  if (input.method === 'resources/read') return finish(resourceHit(server, input.resource ?? ''));
  if (input.method !== 'tools/call')
    return trace.conclude(
      'deny',
      'mcp.method_unknown',
      `MCP method ${input.method} is not allowed`,
    );
  trace.miss('mcp.method_unknown', 'tools/call');
  return finish(toolHit(server, tool, input, trace));
}

function considered(kind: string, rules: readonly { name: string }[]): string {
  if (rules.length === 0) return `no ${kind} rules`;
  return `none of ${rules.length} ${kind} rules matched: ${rules.map((r) => r.name).join(', ')}`;
}

/**
 * Every condition present must hold. `arg_patterns` test each argument's name and its value
 * separately; a value the engine did not receive cannot be cleared, so the rule denies, unless
 * the called tool marks that argument `redact` (the policy chose not to have it read).
 */
function globalRuleHit(
  rule: McpGlobalRuleData,
  input: McpCallDecisionInput,
  server: McpServerPolicyData | undefined,
  tool: McpToolPolicyData | undefined,
): Hit | undefined {
  const m = rule.match;
  if (m.methods?.length && !(m.methods as readonly string[]).includes(input.method))
    return undefined;
  if (
    m.server_trust?.length &&
    (server === undefined || !m.server_trust.includes(server.trust_level))
  )
    return undefined;
  if (m.has_taint?.length && !m.has_taint.some((l) => input.taint.includes(l))) return undefined;
  const own = { decision: rule.action, ruleId: `mcp.global.${rule.name}`, reason: rule.reason };
  const patterns = m.arg_patterns ?? [];
  if (patterns.length === 0) return own;
  const found = input.arguments.findIndex((a) =>
    patterns.some((p) => regexFinds(p, a.name) || (a.value !== null && regexFinds(p, a.value))),
  );
  if (found >= 0) return { ...own, reason: `${rule.reason} (argument ${found + 1})` };
  const unread = input.arguments.findIndex(
    (a) => a.value === null && !mcpArgumentRedacted(tool, a.name),
  );
  if (unread < 0) return undefined;
  return {
    decision: 'deny',
    ruleId: `mcp.global_unreadable.${rule.name}`,
    reason: `global rule ${rule.name} cannot check argument ${unread + 1}: its value was not sent (too long) or not kept`,
  };
}

function taintRuleMatches(
  rule: McpTaintRuleData,
  input: McpCallDecisionInput,
  outward: boolean,
): boolean {
  const m = rule.match;
  if (!m.source_taint.some((l) => input.taint.includes(l))) return false;
  if (m.target_tools?.length && (input.tool === null || !m.target_tools.includes(input.tool)))
    return false;
  if (m.target_servers?.length && !m.target_servers.includes(input.server)) return false;
  if (m.target_outward !== undefined && m.target_outward !== outward) return false;
  return true;
}

function resourceHit(server: McpServerPolicyData, uri: string): Hit {
  const refusal = resourceRefusal(uri);
  if (refusal !== undefined)
    return {
      decision: 'deny',
      ruleId: 'mcp.resource_refused',
      reason: `resource URI refused: ${refusal}`,
    };
  const found = mcpResourceRuleOf(server, uri);
  if (found === undefined)
    return {
      decision: 'deny',
      ruleId: 'mcp.resource_miss',
      reason: `no resource pattern of server ${server.name} matches`,
    };
  const { index, rule } = found;
  const ruleId = {
    allow: 'mcp.resource_allowed',
    ask: 'mcp.resource_ask',
    deny: 'mcp.resource_denied',
  }[rule.action];
  return {
    decision: rule.action,
    ruleId,
    reason: `resources[${index}] (${rule.pattern}) of server ${server.name}: ${rule.action}`,
  };
}

/** The tool: known, not denied, its arguments as declared, its paths inside its prefixes. */
function toolHit(
  server: McpServerPolicyData,
  tool: McpToolPolicyData | undefined,
  input: McpCallDecisionInput,
  trace: Trace,
): Hit {
  const deny = (ruleId: string, reason: string): Hit => ({ decision: 'deny', ruleId, reason });
  if (tool === undefined)
    return deny('mcp.tool_unknown', `server ${server.name} declares no tool ${input.tool ?? ''}`);
  const label = `${server.name}/${tool.name}`;
  if (tool.action === 'deny') return deny('mcp.tool_denied', `tool ${label} is denied by policy`);
  trace.miss('mcp.tool_denied', `tool ${label} is declared (${tool.action})`);

  const byName = new Map(input.arguments.map((a) => [a.name, a]));
  for (const rule of tool.arg_rules ?? []) {
    const arg = byName.get(rule.name);
    if (arg === undefined) {
      if (rule.required)
        return deny('mcp.arg_missing', `required argument ${rule.name} of ${label} is missing`);
      continue;
    }
    if (rule.max_len !== undefined && arg.bytes > rule.max_len)
      return deny(
        'mcp.arg_too_long',
        `argument ${rule.name} of ${label} is ${arg.bytes} bytes; the limit is ${rule.max_len}`,
      );
    if (rule.pattern === undefined) continue;
    if (arg.value === null)
      return deny(
        'mcp.arg_unreadable',
        `argument ${rule.name} of ${label} has a pattern but its value was not sent`,
      );
    if (!regexFinds(rule.pattern, arg.value))
      return deny(
        'mcp.arg_pattern',
        `argument ${rule.name} of ${label} does not match its pattern`,
      );
  }
  if (tool.arg_rules !== undefined) {
    const declared = new Set(tool.arg_rules.map((r) => r.name));
    const extra = input.arguments.findIndex((a) => !declared.has(a.name));
    if (extra >= 0)
      return deny(
        'mcp.arg_undeclared',
        `argument ${extra + 1} is not declared by ${label} (its arg_rules list every argument)`,
      );
    trace.miss(
      'mcp.arg_rules',
      `${tool.arg_rules.length} argument rules hold, no undeclared argument`,
    );
  } else trace.miss('mcp.arg_rules', `tool ${label} declares no argument rules`);

  const prefixes = tool.path_restrict ?? [];
  if (prefixes.length > 0) {
    const paths = input.arguments.filter((a) => isMcpPathArgument(a.name));
    if (paths.length === 0)
      return deny(
        'mcp.path_missing',
        `tool ${label} is restricted to paths and the call names none`,
      );
    for (const arg of paths) {
      const name = arg.name.toLowerCase();
      if (arg.value === null)
        return deny(
          'mcp.arg_unreadable',
          `path argument ${name} of ${label} has no value to check`,
        );
      const normalized = normalizePath(arg.value);
      if (!normalized.ok)
        return deny(
          'mcp.path_refused',
          `path argument ${name} of ${label} refused: ${normalized.refusal}`,
        );
      if (!prefixes.some((p) => pathUnder(normalized.path, normalizePattern(p))))
        return deny(
          'mcp.path_outside',
          `path argument ${name} of ${label} is outside its path_restrict`,
        );
    }
    trace.miss('mcp.path_outside', `${paths.length} path arguments inside path_restrict`);
  }
  return tool.action === 'allow'
    ? { decision: 'allow', ruleId: 'mcp.tool_allowed', reason: `tool ${label} is allowed` }
    : { decision: 'ask', ruleId: 'mcp.tool_ask', reason: `tool ${label} needs approval` };
}
