import { decisionsIn } from '../contracts.js';
import type { EventData } from './catalogue.js';
import type { Seen } from './types.js';

// Policy decisions, one row per decision: a `policy.decided` holds one, a
// `policy.decisions.recorded` (group commit) holds several, each addressed `<event id>#<i>`.
// `decisionsIn` from the contracts is the one reader of that addressing.

export type DecisionVerdict = EventData<'policy.decided'>['decision'];
export type TraceStep = EventData<'policy.decided'>['evidence']['trace'][number];

export interface DecisionRow {
  decisionId: string;
  eventId: string;
  seq: number;
  time: string;
  caller: string;
  domain: string;
  action: string | null;
  subject: string;
  decision: DecisionVerdict;
  reason: string;
  ruleId: string;
  policyDigest: string | null;
  inputDigest: string;
  durationMicros: number;
  trace: TraceStep[];
}

export interface DecisionsView {
  /** The newest MAX_DECISIONS decisions, oldest first. */
  rows: readonly DecisionRow[];
  counts: Readonly<Record<DecisionVerdict, number>>;
}

export const MAX_DECISIONS = 5000;

export const initialDecisions = (): DecisionsView => ({
  rows: [],
  counts: { allow: 0, deny: 0, ask: 0 },
});

export function foldDecisions(view: DecisionsView, e: Seen): DecisionsView {
  const records = decisionsIn(e.event);
  if (records.length === 0) return view;
  const counts = { ...view.counts };
  const added = records.map(({ decisionId, eventId, data }): DecisionRow => {
    counts[data.decision] += 1;
    return {
      decisionId,
      eventId,
      seq: e.seq,
      time: e.event.time,
      caller: data.caller,
      domain: data.domain,
      action: data.action ?? null,
      subject: data.subject.redacted,
      decision: data.decision,
      reason: data.reason,
      ruleId: data.evidence.ruleId,
      policyDigest: data.evidence.policyDigest,
      inputDigest: data.evidence.inputDigest,
      durationMicros: data.evidence.durationMicros,
      trace: data.evidence.trace,
    };
  });
  const rows = [...view.rows, ...added];
  return { rows: rows.length > MAX_DECISIONS ? rows.slice(-MAX_DECISIONS) : rows, counts };
}

export interface DecisionFilter {
  decision?: DecisionVerdict | '';
  domain?: string;
  caller?: string;
  /** Matched against the rule, the reason and the redacted subject. */
  text?: string;
}

/** Decisions matching every given filter, newest first. */
export function filterDecisions(
  rows: readonly DecisionRow[],
  filter: DecisionFilter,
): DecisionRow[] {
  const text = filter.text?.trim().toLowerCase() ?? '';
  const out: DecisionRow[] = [];
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i]!;
    if (filter.decision && r.decision !== filter.decision) continue;
    if (filter.domain && r.domain !== filter.domain) continue;
    if (filter.caller && r.caller !== filter.caller) continue;
    if (text && !`${r.ruleId} ${r.reason} ${r.subject}`.toLowerCase().includes(text)) continue;
    out.push(r);
  }
  return out;
}

export interface WhyDenied {
  rule: string;
  reason: string;
  policyDigest: string;
  /** The trace steps that matched (the ones that decided), then the rest. */
  matched: TraceStep[];
  notMatched: TraceStep[];
}

/** "Why was this denied": the deciding rule, the matching trace steps and the policy's digest. */
export function whyDenied(row: DecisionRow): WhyDenied {
  return {
    rule: row.ruleId,
    reason: row.reason,
    policyDigest:
      row.policyDigest ?? 'none: no valid policy was loaded, so every request is denied',
    matched: row.trace.filter((s) => s.matched),
    notMatched: row.trace.filter((s) => !s.matched),
  };
}
