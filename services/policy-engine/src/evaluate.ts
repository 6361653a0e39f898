import { Trace, type DecisionInput, type Verdict } from './decision.js';
import { decideAgentRisk } from './domains/agentRisk.js';
import { decideEgress } from './domains/egress.js';
import { decideMcpCall } from './domains/mcpCall.js';
import { decideModelPromotion } from './domains/modelPromotion.js';
import { decideModelSource } from './domains/modelSource.js';
import { decidePathAccess } from './domains/pathAccess.js';
import { decideSensitivity } from './domains/sensitivity.js';
import { decideToolAccess } from './domains/toolAccess.js';
import type { PolicyDocuments } from './policy/index.js';

/**
 * The decision function: pure, total, default deny. It reads no clock and no state outside its
 * arguments, so a recorded decision can be re-derived exactly from its input and its policy.
 */
export function evaluate(input: DecisionInput, documents: PolicyDocuments | null): Verdict {
  if (documents === null) {
    return new Trace().conclude(
      'deny',
      'policy.unavailable',
      'no valid policy is loaded: everything is denied',
    );
  }
  const { policy, agent } = documents;
  switch (input.domain) {
    case 'tool_access':
      if ('tool' in input) return decideToolAccess(input.tool, input.path, policy);
      break;
    case 'path_access':
      if ('access' in input) return decidePathAccess(input.path, input.access, agent);
      break;
    case 'egress':
      if ('method' in input)
        return decideEgress(input.url, input.refusal, input.method, input.credentials, policy);
      break;
    case 'model_source':
      if ('canonical' in input)
        return decideModelSource(input.url, input.refusal, input.canonical, policy);
      break;
    case 'agent_risk':
      if ('action' in input) return decideAgentRisk(input.action, agent);
      break;
    case 'sensitivity':
      if ('level' in input) return decideSensitivity(input.level, input.ceiling, policy);
      break;
    case 'model_promotion':
      if ('promotion' in input) return decideModelPromotion(input.model, input.promotion, policy);
      break;
    case 'mcp_call':
      if ('taint' in input) return decideMcpCall(input, documents.mcp);
      break;
    case 'invalid':
      if ('problems' in input) {
        return new Trace().conclude(
          'deny',
          'request.invalid',
          `invalid request: ${input.problems.join('; ')}`,
        );
      }
      break;
  }
  return new Trace().conclude(
    'deny',
    'unknown_domain',
    `unknown domain: ${input.domain.slice(0, 64)}`,
  );
}
