import type { DecisionRequestData, DecisionResponseData } from '@secai/contracts';

/**
 * Stage 1 (reference §2.1), the source policy. The quarantine does not judge a source itself:
 * the policy engine is the one decision point, so the stage asks it the `model_source` question
 * (a canonical https URL on port 443, without credentials, query or fragment, under one of
 * `airlock.allowed_destinations`) with the same signed decide command every gate uses, and the
 * stage's outcome cites the recorded decision (its address, and the event holding it as the stage
 * event's causation). A local import (no source URL) passes without a question: there is no
 * remote origin to judge.
 */
export const SOURCE_POLICY_DOMAIN = 'model_source';

/** The question for an artifact's source URL. */
export function sourcePolicyRequest(url: string): DecisionRequestData {
  return { domain: SOURCE_POLICY_DOMAIN, subject: url };
}

export interface SourceVerdict {
  passed: boolean;
  reasonCode: string;
  detail: string;
  /** Facts for the stage event: the decision it rests on, so anyone can look it up. */
  result: Record<string, string>;
}

/** A local import: nothing to ask. */
export const LOCAL_IMPORT: SourceVerdict = {
  passed: true,
  reasonCode: 'local_import',
  detail: 'no source URL: a local import',
  result: { source: 'local' },
};

/**
 * The stage verdict from the engine's recorded answer: passed only on an explicit allow (`ask`
 * and `deny` fail, as at every gate); the reason code is the engine's rule id.
 */
export function sourceVerdict(answer: DecisionResponseData & { eventId: string }): SourceVerdict {
  const { decision, evidence } = answer;
  return {
    passed: decision === 'allow',
    reasonCode: reasonCodeOf(evidence.ruleId),
    detail: answer.reason.slice(0, 512) || evidence.ruleId,
    result: {
      decision,
      // The decision's own address (`<event id>#<i>` when it was committed in a group); an
      // answer without one was recorded alone, in the event it names.
      decision_id: answer.decisionId ?? answer.eventId,
      rule_id: evidence.ruleId.slice(0, 256),
      engine_policy_digest: evidence.policyDigest ?? 'none',
    },
  };
}

/** A rule id as a stage reason code (the contracts' lowercase token). */
export function reasonCodeOf(code: string): string {
  const c = code
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '_')
    .slice(0, 64);
  return /^[a-z]/.test(c) ? c : `r_${c}`.slice(0, 64);
}
