import { Trace, type Verdict } from '../decision.js';
import type { AgentPolicy } from '../policy/index.js';

/** `agent_risk`: always_deny → deny; hard_approval → ask; allowed_tools → allow; else deny. */
export function decideAgentRisk(action: string, agent: AgentPolicy): Verdict {
  const trace = new Trace();
  if (agent.always_deny.includes(action))
    return trace.conclude('deny', `agent.always_deny.${action}`, `${action} is always denied`);
  trace.miss('agent.always_deny', 'not in always_deny');
  if (agent.hard_approval.includes(action)) {
    return trace.conclude(
      'ask',
      `agent.hard_approval.${action}`,
      `${action} needs the operator's approval`,
    );
  }
  trace.miss('agent.hard_approval', 'not in hard_approval');
  if (agent.allowed_tools.includes(action))
    return trace.conclude('allow', `agent.allowed_tools.${action}`, `${action} is allowed`);
  return trace.conclude('deny', 'agent.default_deny', 'action is not allowed (default deny)');
}
