import { decisionsIn, type EventData } from '@secai/contracts';
import type { DecisionInput, Verdict } from './decision.js';
import { evaluate } from './evaluate.js';
import type { PolicySnapshot } from './policy/index.js';

/** One recorded decision: alone in its `policy.decided`, or a member of a group. */
export interface RecordedDecision {
  /** Stream sequence of the event that holds it. */
  seq: number;
  eventId: string;
  /** Its address: `eventId`, or `<eventId>#<index>` in a `policy.decisions.recorded`. */
  decisionId: string;
  data: EventData<'policy.decided'>;
}

/**
 * The decisions a verified event stored at `seq` holds, each addressed (none when it holds none):
 * what replay and what-if read from the stream.
 */
export function recordedDecisions(
  seq: number,
  event: { id: string; type: string; data: unknown },
): RecordedDecision[] {
  return decisionsIn(event).map((d) => ({
    seq,
    eventId: d.eventId,
    decisionId: d.decisionId,
    data: d.data,
  }));
}

export interface DecisionDifference {
  seq: number;
  eventId: string;
  decisionId: string;
  domain: string;
  subject: string;
  recorded: { decision: string; ruleId: string };
  now: { decision: string; ruleId: string };
  detail: string;
}

export interface ReplayReport {
  checked: number;
  reproduced: number;
  differences: DecisionDifference[];
}

function reEvaluate(d: RecordedDecision, snapshot: PolicySnapshot | null): Verdict {
  return evaluate(JSON.parse(d.data.input) as DecisionInput, snapshot?.documents ?? null);
}

function differs(d: RecordedDecision, v: Verdict): string | null {
  if (v.decision !== d.data.decision) return `decision ${d.data.decision} → ${v.decision}`;
  if (v.ruleId !== d.data.evidence.ruleId) return `rule ${d.data.evidence.ruleId} → ${v.ruleId}`;
  if (v.reason !== d.data.reason) return 'reason differs';
  if (JSON.stringify(v.trace) !== JSON.stringify(d.data.evidence.trace)) return 'trace differs';
  return null;
}

function difference(d: RecordedDecision, v: Verdict, detail: string): DecisionDifference {
  return {
    seq: d.seq,
    eventId: d.eventId,
    decisionId: d.decisionId,
    domain: d.data.domain,
    subject: d.data.subject.redacted,
    recorded: { decision: d.data.decision, ruleId: d.data.evidence.ruleId },
    now: { decision: v.decision, ruleId: v.ruleId },
    detail,
  };
}

/**
 * Re-evaluates every recorded decision (each member of a group on its own) under the policy it cites (by digest, from the
 * `policy.loaded` events) and reports each one that does not come out identical: decision, rule,
 * reason and trace. A decision citing a policy the stream does not hold is a difference too.
 */
export function replayDecisions(
  decisions: Iterable<RecordedDecision>,
  policies: ReadonlyMap<string, PolicySnapshot>,
): ReplayReport {
  const report: ReplayReport = { checked: 0, reproduced: 0, differences: [] };
  for (const d of decisions) {
    report.checked++;
    const digest = d.data.evidence.policyDigest;
    const snapshot = digest === null ? null : policies.get(digest);
    if (snapshot === undefined) {
      const none: Verdict = { decision: 'deny', ruleId: 'policy.unknown', reason: '', trace: [] };
      report.differences.push(difference(d, none, `policy ${digest} is not in the stream`));
      continue;
    }
    const v = reEvaluate(d, snapshot);
    const detail = differs(d, v);
    if (detail === null) report.reproduced++;
    else report.differences.push(difference(d, v, detail));
  }
  return report;
}

/** Evaluates recorded decisions under a candidate policy and lists those whose outcome changes. */
export function whatIf(
  decisions: Iterable<RecordedDecision>,
  candidate: PolicySnapshot,
): ReplayReport {
  const report: ReplayReport = { checked: 0, reproduced: 0, differences: [] };
  for (const d of decisions) {
    report.checked++;
    const v = reEvaluate(d, candidate);
    if (v.decision === d.data.decision && v.ruleId === d.data.evidence.ruleId) report.reproduced++;
    else
      report.differences.push(
        difference(d, v, `would be ${v.decision} (${v.ruleId}) instead of ${d.data.decision}`),
      );
  }
  return report;
}
