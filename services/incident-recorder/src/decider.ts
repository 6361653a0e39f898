import {
  IllegalStateError,
  decided,
  refused,
  sha256Hex,
  type ContainmentActionName,
  type Decider,
  type Decision,
  type DraftEvent,
  type IncidentSeverityName,
} from '@secai/contracts';
import type { Observation } from './classifier.js';
import {
  applyEvent,
  bindingOf,
  initialIncident,
  pendingActions,
  severityRank,
  stateOf,
  type Ceremony,
  type IncidentContext,
  type IncidentEvent,
  type IncidentSnapshot,
  type RequestedAction,
} from './machine.js';
import type { ClassRule, EscalationRule, IncidentPolicy } from './policy/schema.js';

// The incident recorder's rules as pure functions (ARCHITECTURE §4): a command and the incident's
// snapshot (replayed from its events) in, the contracts `Decision` out: the events to record and
// a stable `outcome`, or a coded refusal. Time, policy and what the edge found (an attestation)
// come in as arguments.

export type IncidentDraft = DraftEvent<
  | 'incident.opened'
  | 'incident.observation.attached'
  | 'incident.escalated'
  | 'incident.containment.requested'
  | 'incident.containment.action.completed'
  | 'incident.contained'
  | 'incident.containment.failed'
  | 'incident.resolved'
  | 'incident.acknowledged'
>;

/** An `attestation.verified` the edge found or obtained for a ceremony. */
export interface AttestationFact {
  eventId: string;
  /** Its stream sequence: it must come after everything the incident's binding covers. */
  seq: number;
  policySatisfied: boolean;
  mode: 'hardware' | 'evaluation' | 'software';
  evidenceVerified: boolean;
}

export type IncidentCommand =
  | { type: 'open'; incidentId: string; observation: Observation; rule: ClassRule }
  | {
      type: 'attach';
      observation: Observation;
      escalation: readonly EscalationRule[];
      /** When the attachment is recorded (ISO): the escalation window ends here. */
      now: string;
    }
  | {
      type: 'complete_action';
      action: ContainmentActionName;
      target: string;
      ok: boolean;
      detail: string;
      durationMs: number;
    }
  | {
      type: 'resolve';
      operator: string;
      note: string;
      rule: ClassRule;
      ceremony: IncidentPolicy['ceremony'];
      attestation: AttestationFact | null;
    }
  | { type: 'acknowledge'; operator: string; note: string };

export const REFUSAL_CODES = [
  'incident_unknown',
  'incident_exists',
  'incident_closed',
  'containment_in_progress',
  'reattestation_required',
  'not_resolved',
  'operator_invalid',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/**
 * What the incident decider decided. `outcome` (every decision that refuses nothing has one) is
 * stable: `opened`, `duplicate`, `attached`, `escalated`, `action_completed`, `not_pending`,
 * `contained`, `containment_failed`, `resolved`, `already_resolved`, `acknowledged`,
 * `already_acknowledged`.
 */
export type IncidentDecision = Decision<IncidentDraft, never, RefusalCode>;

const done = (outcome: string, events: IncidentDraft[] = []): IncidentDecision =>
  decided(events, { outcome });
const refuse = (code: RefusalCode, message: string): IncidentDecision => refused(code, message);

/** A decision in one stable word: its outcome, or the code it was refused with. */
export function outcomeOf(decision: IncidentDecision): string {
  return decision.refusal?.code ?? decision.outcome ?? 'unchanged';
}

/**
 * The id of the incident an observation opens: `INC-<YYYYMMDD>-<HHMMSS>-<12 hex>` (the reference's
 * shape), from the observation's own time and a digest of its cause, class and subject. The same
 * observation always names the same incident, so a redelivery after a crash finds the incident it
 * opened instead of opening a second one (the original's per-process counter reset on restart).
 * `attempt` > 0 picks another id after a collision.
 */
export function incidentIdFor(o: Observation, attempt = 0): string {
  const t = new Date(o.time).toISOString();
  const stamp = `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}-${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}`;
  const digest = sha256Hex(`${o.causeId}|${o.class}|${o.subject}|${attempt}`).slice(0, 12);
  return `INC-${stamp}-${digest}`;
}

/** The aggregate an action is carried out on. */
export function targetOf(
  action: ContainmentActionName,
  incidentId: string,
  subject: string,
): string {
  switch (action) {
    case 'freeze_agent':
      return 'agent/state';
    case 'disable_airlock':
      return 'airlock/state';
    case 'force_vault_relock':
      return 'vault/state';
    case 'quarantine_model':
      // Fails closed at execution when the incident is not about a model.
      return subject.startsWith('model/') ? subject : 'model/unknown';
    case 'revoke_identity':
      // The offending identity; fails closed at execution when the subject names none.
      return subject.startsWith('identity/') ? subject : 'identity/unknown';
    case 'log_alert':
      return `incident/${incidentId}`;
  }
}

/** Re-attestation is needed for critical incidents and latched classes (the runbook's rule). */
export function reattestRequired(ctx: IncidentContext, rule: ClassRule): boolean {
  return ctx.severity === 'critical' || rule.latched;
}

/** The ceremony as it stands: what a resolution must carry. */
export function ceremonyOf(
  ctx: IncidentContext,
  rule: ClassRule,
  attestationEventId: string | null,
): Ceremony {
  return {
    binding: bindingOf(ctx),
    reattestRequired: reattestRequired(ctx, rule),
    attestationEventId,
  };
}

function decideOpen(
  c: Extract<IncidentCommand, { type: 'open' }>,
  s: IncidentSnapshot,
): IncidentDecision {
  if (stateOf(s) !== 'none') {
    // A redelivered observation finds the incident it opened; anything else is an id collision.
    if (s.context.causeEventIds.includes(c.observation.causeId)) return done('duplicate');
    return refuse('incident_exists', `incident ${c.incidentId} already exists`);
  }
  const o = c.observation;
  const events: IncidentDraft[] = [
    {
      type: 'incident.opened',
      aggregateId: c.incidentId,
      data: {
        incidentId: c.incidentId,
        class: o.class,
        severity: o.severity,
        subject: o.subject,
        reportedBy: o.reportedBy as never,
        causeEventIds: [...new Set(o.causeIds)].slice(-32),
        description: o.description,
      },
    },
  ];
  if (c.rule.autoContain && c.rule.actions.length > 0) {
    events.push({
      type: 'incident.containment.requested',
      aggregateId: c.incidentId,
      data: {
        incidentId: c.incidentId,
        actions: c.rule.actions.map((action) => ({
          action,
          target: targetOf(action, c.incidentId, o.subject),
        })),
      },
    });
  }
  return done('opened', events);
}

/**
 * The escalation an attachment brings, if any: among the class's rules that have not fired,
 * those whose threshold is reached by the observations recorded within their window (this one
 * included), the one raising severity the most; a rule never lowers it. An observation reported
 * at a higher severity than the incident's raises it too (rule `observed_severity`).
 */
export function escalationFor(
  ctx: IncidentContext,
  observation: Observation,
  rules: readonly EscalationRule[],
  now: string,
): {
  to: IncidentSeverityName;
  rule: { id: string; threshold: number; windowSeconds: number };
  count: number;
} | null {
  const current = ctx.severity!;
  const end = Date.parse(now);
  const times = [...ctx.observedAt.map((t) => Date.parse(t)), end];
  let best: ReturnType<typeof escalationFor> = null;
  for (const rule of rules) {
    if (rule.class !== ctx.class || ctx.escalations.some((e) => e.ruleId === rule.id)) continue;
    if (severityRank(rule.to) <= severityRank(best?.to ?? current)) continue;
    const count = times.filter((t) => t > end - rule.windowSeconds * 1000 && t <= end).length;
    if (count >= rule.threshold)
      best = {
        to: rule.to,
        rule: { id: rule.id, threshold: rule.threshold, windowSeconds: rule.windowSeconds },
        count,
      };
  }
  if (severityRank(observation.severity) > severityRank(best?.to ?? current))
    best = {
      to: observation.severity,
      rule: { id: 'observed_severity', threshold: 1, windowSeconds: 1 },
      count: 1,
    };
  return best;
}

function decideAttach(
  c: Extract<IncidentCommand, { type: 'attach' }>,
  s: IncidentSnapshot,
): IncidentDecision {
  const state = stateOf(s);
  const ctx = s.context;
  if (state === 'none')
    throw new IllegalStateError('an observation can only attach to an incident');
  if (ctx.causeEventIds.includes(c.observation.causeId)) return done('duplicate');
  if (state === 'resolved' || state === 'acknowledged')
    return refuse('incident_closed', `incident ${ctx.incidentId} is ${state}`);
  const count = ctx.observationCount + 1;
  const events: IncidentDraft[] = [
    {
      type: 'incident.observation.attached',
      aggregateId: ctx.incidentId,
      data: { incidentId: ctx.incidentId, causeEventId: c.observation.causeId, count },
    },
  ];
  const up = escalationFor(ctx, c.observation, c.escalation, c.now);
  if (up)
    events.push({
      type: 'incident.escalated',
      aggregateId: ctx.incidentId,
      data: {
        incidentId: ctx.incidentId,
        from: ctx.severity!,
        to: up.to,
        rule: up.rule,
        observationCount: up.count,
      },
    });
  return done(up ? 'escalated' : 'attached', events);
}

function decideCompletion(
  c: Extract<IncidentCommand, { type: 'complete_action' }>,
  s: IncidentSnapshot,
): IncidentDecision {
  const ctx = s.context;
  if (stateOf(s) !== 'open') return done('not_pending');
  const pending = pendingActions(ctx);
  if (!pending.some((p) => p.action === c.action && p.target === c.target))
    return done('not_pending');
  const completed: IncidentDraft = {
    type: 'incident.containment.action.completed',
    aggregateId: ctx.incidentId,
    data: {
      incidentId: ctx.incidentId,
      action: c.action,
      target: c.target,
      ok: c.ok,
      detail: c.detail.slice(0, 512),
      durationMs: Math.max(0, Math.round(c.durationMs)),
    },
  };
  if (pending.length > 1) return done('action_completed', [completed]);
  const results = [
    ...ctx.results,
    { action: c.action, target: c.target, ok: c.ok, detail: c.detail },
  ];
  const requested = ctx.requested as RequestedAction[];
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0)
    return done('contained', [
      completed,
      {
        type: 'incident.contained',
        aggregateId: ctx.incidentId,
        data: { incidentId: ctx.incidentId, actions: requested.map((a) => a.action) },
      },
    ]);
  return done('containment_failed', [
    completed,
    {
      type: 'incident.containment.failed',
      aggregateId: ctx.incidentId,
      data: {
        incidentId: ctx.incidentId,
        failed: failed.map((r) => ({
          action: r.action,
          target: r.target,
          detail: r.detail.slice(0, 512),
        })),
        succeeded: results.filter((r) => r.ok).map((r) => r.action),
      },
    },
  ]);
}

function operatorProblem(operator: string): string | null {
  const trimmed = operator.trim();
  if (trimmed.length < 1 || trimmed.length > 256 || trimmed !== operator)
    return 'the operator must be named (1 to 256 characters, no surrounding spaces)';
  return null;
}

function decideResolve(
  c: Extract<IncidentCommand, { type: 'resolve' }>,
  s: IncidentSnapshot,
): IncidentDecision {
  const state = stateOf(s);
  const ctx = s.context;
  if (state === 'none') return refuse('incident_unknown', 'no such incident');
  if (state === 'resolved' || state === 'acknowledged') return done('already_resolved');
  if (state === 'open' && ctx.requested !== null)
    return refuse(
      'containment_in_progress',
      `containment of ${ctx.incidentId} is still running (${pendingActions(ctx).length} action(s) pending)`,
    );
  const who = operatorProblem(c.operator);
  if (who) return refuse('operator_invalid', who);
  const needed = reattestRequired(ctx, c.rule);
  let attestationEventId: string | null = null;
  if (needed) {
    const a = c.attestation;
    const why =
      a === null
        ? 'no attestation.verified was recorded after the incident and none could be obtained'
        : a.seq <= ctx.requiredAfterSeq
          ? `attestation ${a.eventId} predates the incident's last change (seq ${ctx.requiredAfterSeq})`
          : !a.policySatisfied
            ? `attestation ${a.eventId} does not satisfy the attestation policy`
            : c.ceremony.requireHardwareAttestation &&
                (a.mode !== 'hardware' || !a.evidenceVerified)
              ? `attestation ${a.eventId} is not a verified hardware attestation (${a.mode})`
              : null;
    if (why)
      return refuse(
        'reattestation_required',
        `${ctx.severity === 'critical' ? 'a critical' : 'a latched'} incident needs a fresh attestation.verified before it is resolved: ${why}`,
      );
    attestationEventId = a!.eventId;
  }
  return done('resolved', [
    {
      type: 'incident.resolved',
      aggregateId: ctx.incidentId,
      data: {
        incidentId: ctx.incidentId,
        operator: c.operator,
        note: c.note,
        ceremony: ceremonyOf(ctx, c.rule, attestationEventId),
      },
    },
  ]);
}

function decideAcknowledge(
  c: Extract<IncidentCommand, { type: 'acknowledge' }>,
  s: IncidentSnapshot,
): IncidentDecision {
  const state = stateOf(s);
  const ctx = s.context;
  if (state === 'none') return refuse('incident_unknown', 'no such incident');
  if (state === 'acknowledged') return done('already_acknowledged');
  if (state !== 'resolved' || !ctx.resolution)
    return refuse(
      'not_resolved',
      `incident ${ctx.incidentId} is ${state}: it is acknowledged once resolved (after its recovery ceremony)`,
    );
  const who = operatorProblem(c.operator);
  if (who) return refuse('operator_invalid', who);
  return done('acknowledged', [
    {
      type: 'incident.acknowledged',
      aggregateId: ctx.incidentId,
      data: {
        incidentId: ctx.incidentId,
        operator: c.operator,
        note: c.note,
        ceremony: { ...ctx.resolution.ceremony },
      },
    },
  ]);
}

export function decide(command: IncidentCommand, snapshot: IncidentSnapshot): IncidentDecision {
  switch (command.type) {
    case 'open':
      return decideOpen(command, snapshot);
    case 'attach':
      return decideAttach(command, snapshot);
    case 'complete_action':
      return decideCompletion(command, snapshot);
    case 'resolve':
      return decideResolve(command, snapshot);
    case 'acknowledge':
      return decideAcknowledge(command, snapshot);
  }
}

/**
 * The incident decider: decides drafts, and folds the events as stored (the machine keeps their
 * ids, sequences and times: a ceremony is bound to stream sequences), so `CommandHandler` reads
 * its appends back (`readBack`). A stored event the machine refuses leaves the snapshot as it was;
 * `replayIncident` reports it.
 */
export const incidentDecider: Decider<
  IncidentCommand,
  IncidentDraft,
  IncidentSnapshot,
  never,
  IncidentEvent,
  RefusalCode
> = {
  decide,
  evolve: (snapshot, event) => applyEvent(snapshot, event).snapshot,
  initialState: initialIncident,
};
