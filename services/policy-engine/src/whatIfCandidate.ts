import type { CommandReply, CommandRequest } from '@secai/contracts';
import type { DecisionInput, Verdict } from './decision.js';
import { evaluate } from './evaluate.js';
import { formatPolicyProblem, parsePolicyDocuments } from './policy/index.js';

type WhatIfRequest = CommandRequest<'policy-engine.what_if'>;
type WhatIfReply = CommandReply<'policy-engine.what_if'>;
type WhatIfResult = Extract<WhatIfReply, { ok: true }>['results'][number];

/**
 * `policy-engine.what_if`: what a candidate policy, given as file texts, would decide for the
 * recorded inputs a caller names. Pure: nothing is recorded, the live policy is untouched, and an
 * input that is not a decision input (the caller sends it; it is not trusted as a record) comes
 * back as a refusal of that input, never as an exception.
 */
export function whatIfCandidate(request: WhatIfRequest): WhatIfReply {
  const loaded = parsePolicyDocuments(request.files.map((f) => ({ path: f.name, text: f.text })));
  if (!loaded.ok) {
    const first = loaded.problems[0];
    return {
      ok: false,
      code: 'POLICY_INVALID',
      message:
        `${loaded.problems.length} problem(s); first: ${first ? formatPolicyProblem(first) : ''}`.slice(
          0,
          1024,
        ),
    };
  }
  const { documents, digest } = loaded.snapshot;
  return {
    ok: true,
    policyDigest: digest,
    results: request.decisions.map((d) => resultOf(d.decisionId, verdictFor(d.input, documents))),
  };
}

function verdictFor(text: string, documents: Parameters<typeof evaluate>[1]): Verdict | null {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return null;
  }
  if (
    typeof input !== 'object' ||
    input === null ||
    typeof (input as { domain?: unknown }).domain !== 'string'
  ) {
    return null;
  }
  try {
    return evaluate(input as DecisionInput, documents);
  } catch {
    // The evaluator is total over inputs the engine normalised; a hand-made one may not be.
    return null;
  }
}

function resultOf(decisionId: string, verdict: Verdict | null): WhatIfResult {
  if (verdict === null) {
    return {
      decisionId,
      decision: 'deny',
      ruleId: 'request.invalid',
      reason: 'the recorded input is not a decision input',
    };
  }
  return {
    decisionId,
    decision: verdict.decision,
    ruleId: verdict.ruleId,
    reason: verdict.reason.slice(0, 1024),
  };
}
