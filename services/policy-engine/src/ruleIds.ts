/**
 * Every rule id the engine can return, by domain. `<tool>`, `<action>`, `<format>`, `<stage>`,
 * `<rule>` stand for a name taken from the policy or the pipeline. Tests check that each is
 * reachable and that the engine returns no other; the README documents each.
 */
export const RULE_IDS = {
  any: ['policy.unavailable', 'request.invalid', 'unknown_domain'],
  tool_access: [
    'tools.deny.<tool>',
    'tools.default_deny',
    'tools.allow.<tool>.path_missing',
    'tools.allow.<tool>.path_refused',
    'tools.allow.<tool>.paths_denylist',
    'tools.allow.<tool>.paths_allowlist_miss',
    'tools.allow.<tool>',
  ],
  path_access: [
    'path.refused',
    'agent.workspace.readable',
    'agent.workspace.readable_miss',
    'agent.workspace.writable',
    'agent.workspace.writable_miss',
  ],
  egress: [
    'egress.destination_refused',
    'egress.credentials_in_url',
    'defaults.network.egress_allow',
    'airlock.disabled',
    'airlock.method_denied',
    'airlock.destination_allowlist',
    'airlock.destination_miss',
  ],
  model_source: [
    'source.refused',
    'source.not_canonical',
    'source.not_https',
    'source.allowlist_empty',
    'source.allowlisted',
    'source.not_allowlisted',
  ],
  agent_risk: [
    'agent.always_deny.<action>',
    'agent.hard_approval.<action>',
    'agent.allowed_tools.<action>',
    'agent.default_deny',
  ],
  sensitivity: ['sensitivity.invalid', 'sensitivity.exceeded', 'sensitivity.ok'],
  model_promotion: [
    'models.result_missing',
    'models.quarantine_failed',
    'models.format_missing',
    'models.deny_formats.<format>',
    'models.allowed_formats_miss',
    'models.stage_failed.<stage>',
    'models.stages_incomplete',
    'models.pin_mismatch',
    'models.pin_blocked',
    'models.pin_required',
    'models.behavior_missing',
    'models.behavior_critical',
    'models.behavior_score',
    'models.signature_required',
    'models.signer_untrusted',
    'models.promotion_allowed',
  ],
  mcp_call: [
    'mcp.policy_absent',
    'mcp.global.<rule>',
    'mcp.global_unreadable.<rule>',
    'mcp.taint.<rule>',
    'mcp.toxic_flow',
    'mcp.outward_after_taint',
    'mcp.server_unknown',
    'mcp.list_methods',
    'mcp.prompts_get',
    'mcp.prompts_denied',
    'mcp.resource_refused',
    'mcp.resource_miss',
    'mcp.resource_allowed',
    'mcp.resource_ask',
    'mcp.resource_denied',
    'mcp.method_unknown',
    'mcp.tool_unknown',
    'mcp.tool_denied',
    'mcp.arg_missing',
    'mcp.arg_too_long',
    'mcp.arg_unreadable',
    'mcp.arg_pattern',
    'mcp.arg_undeclared',
    'mcp.path_missing',
    'mcp.path_refused',
    'mcp.path_outside',
    'mcp.tool_allowed',
    'mcp.tool_ask',
  ],
} as const;

/** The pattern a concrete rule id belongs to, or null when it is not one the engine returns. */
export function ruleIdPattern(ruleId: string): string | null {
  for (const patterns of Object.values(RULE_IDS)) {
    for (const pattern of patterns) {
      const re = new RegExp(
        `^${pattern.replace(/\./g, '\\.').replace(/<[a-z]+>/g, '[A-Za-z0-9_.:-]+')}$`,
      );
      if (re.test(ruleId)) return pattern;
    }
  }
  return null;
}
