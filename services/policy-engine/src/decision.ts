import type { PromotionInputData } from '@secai/contracts';

export type DecisionValue = 'allow' | 'deny' | 'ask';

/** One rule considered, in order: whether it matched and why (the answer to "why was I denied?"). */
export interface TraceStep {
  ruleId: string;
  matched: boolean;
  why: string;
}

/** What the rules conclude. Pure: the same input and policy always give the same verdict. */
export interface Verdict {
  decision: DecisionValue;
  reason: string;
  ruleId: string;
  trace: TraceStep[];
}

/**
 * The decision input exactly as the rules read it: only the fields a rule looks at, already
 * stripped of anything secret (a URL without credentials, query or fragment). This is what the
 * decision log stores and what a replay re-evaluates.
 */
export type DecisionInput =
  | { domain: 'tool_access'; tool: string; path: string | null }
  | { domain: 'path_access'; path: string; access: 'read' | 'write' }
  | {
      domain: 'egress';
      url: string | null;
      refusal: string | null;
      method: string;
      credentials: boolean;
    }
  | {
      domain: 'model_source';
      url: string | null;
      refusal: string | null;
      /** False when the URL carried credentials, a query or a fragment (stripped from `url`). */
      canonical: boolean;
    }
  | { domain: 'agent_risk'; action: string }
  | { domain: 'sensitivity'; level: string; ceiling: string }
  | { domain: 'model_promotion'; model: string; promotion: PromotionInputData | null }
  | McpCallDecisionInput
  | { domain: 'invalid'; requestedDomain: string; problems: string[] }
  | { domain: string; unknown: true };

/**
 * One MCP request as `mcp_call` reads it: the firewall's `McpCallInput` without the argument
 * digests (no rule reads them); `value` null when the firewall did not send it (over 2 KiB or
 * `redact`) or the engine did not keep it (over its budget, `normalizeMcp.ts`).
 */
export interface McpCallDecisionInput {
  domain: 'mcp_call';
  server: string;
  method: string;
  tool: string | null;
  /** The resource URI (`resources/read`) or the prompt's name (`prompts/get`). */
  resource: string | null;
  arguments: { name: string; bytes: number; value: string | null }[];
  taint: string[];
}

/** Builds a verdict while recording every rule considered. */
export class Trace {
  readonly steps: TraceStep[] = [];

  miss(ruleId: string, why: string): void {
    this.steps.push({ ruleId, matched: false, why: why.slice(0, 256) });
  }

  conclude(decision: DecisionValue, ruleId: string, reason: string): Verdict {
    this.steps.push({ ruleId, matched: true, why: reason.slice(0, 256) });
    return { decision, ruleId, reason: reason.slice(0, 512), trace: this.steps };
  }
}
