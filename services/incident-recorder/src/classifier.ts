import {
  INCIDENT_SEVERITIES,
  decisionsIn,
  serviceOfSource,
  type DecisionRecord,
  type EventData,
  type IncidentClassName,
  type IncidentSeverityName,
} from '@secai/contracts';
import type { IncidentPolicy, ObservationKind } from './policy/schema.js';

// Observations from every zone, classified into the nine incident classes (pure: the event, the
// policy and, for denial bursts, the detector's state come in; nothing is read or written).

/** The event types the recorder consumes. */
export const OBSERVED_TYPES = [
  'integrity.violation.detected',
  'attestation.failed',
  'attestation.degraded',
  // Not observations themselves: they tell development mode from a TPM that went away.
  'attestation.enrolled',
  'attestation.development_mode.declared',
  'security.envelope.rejected',
  'policy.decided',
  // Decisions committed together (group commit): each member counts as one decision.
  'policy.decisions.recorded',
  'model.behavior.anomaly',
  'model.verification.failed',
  'gpu.anomaly.detected',
] as const;
export type ObservedType = (typeof OBSERVED_TYPES)[number];

export function isObservedType(type: string): type is ObservedType {
  return (OBSERVED_TYPES as readonly string[]).includes(type);
}

/** A verified event as the classifier reads it. */
export interface ObservedEvent {
  id: string;
  type: string;
  /** The signing service. */
  source: string;
  /** `<aggregateType>/<aggregateId>` */
  subject: string;
  time: string;
  correlationId: string;
  data: unknown;
}

/** One observation that opens an incident or is attached to the open one. */
export interface Observation {
  class: IncidentClassName;
  severity: IncidentSeverityName;
  /** What the incident is about (`model/<hex>`, `integrity/<pathClass>`, `service/<name>`...). */
  subject: string;
  reportedBy: string;
  description: string;
  /** The event that is this observation (its id dedupes redeliveries). */
  causeId: string;
  /** Every event that makes it up (a burst lists its denials), the cause included, at most 32. */
  causeIds: string[];
  time: string;
  correlationId: string;
}

export const maxSeverity = (
  a: IncidentSeverityName,
  b: IncidentSeverityName,
): IncidentSeverityName =>
  INCIDENT_SEVERITIES.indexOf(a) >= INCIDENT_SEVERITIES.indexOf(b) ? a : b;

/** `<hex>` of a path in the content-addressed store (`.../sha256/<hex>/...`), else null. */
export function modelOfPath(path: string): string | null {
  return /\/sha256\/([0-9a-f]{64})(?:\/|$)/.exec(path)?.[1] ?? null;
}

const clip = (text: string, max = 1024) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;
const short = (fact: string | null) =>
  fact === null ? 'nothing' : fact.startsWith('sha256:') ? `${fact.slice(0, 19)}…` : fact;

function serviceOf(event: ObservedEvent): string {
  return serviceOfSource(event.source) ?? event.source;
}

// ---- Development mode ------------------------------------------------------------------------

/**
 * What the stream says so far about how hosts are attested, fed in stream order (an accumulator
 * the recorder updates in place, like the burst windows): the first TPM enrolment on the bus and
 * the hosts that declared development mode.
 */
export interface AttestationLedger {
  /** The first `attestation.enrolled` with a TPM (evaluation or hardware) of any host. */
  tpmEnrolment: { host: string; mode: string; eventId: string } | null;
  /** Host → its latest `attestation.development_mode.declared`. */
  declared: Map<string, string>;
}

export function initialAttestationLedger(): AttestationLedger {
  return { tpmEnrolment: null, declared: new Map() };
}

/** Feeds an enrolment or a declaration to the ledger; false for any other event. */
export function noteAttestation(ledger: AttestationLedger, event: ObservedEvent): boolean {
  if (event.type === 'attestation.enrolled') {
    const d = event.data as EventData<'attestation.enrolled'>;
    // The first one is kept: nothing later (a software re-enrolment) makes a bus TPM-less again.
    if (d.mode !== 'software' && ledger.tpmEnrolment === null)
      ledger.tpmEnrolment = { host: d.host, mode: d.mode, eventId: event.id };
    return true;
  }
  if (event.type === 'attestation.development_mode.declared') {
    const d = event.data as EventData<'attestation.development_mode.declared'>;
    ledger.declared.set(d.host, event.id);
    return true;
  }
  return false;
}

/** The reasons a software-mode run gives by itself: nothing measured, less than policy asks. */
export const DEVELOPMENT_REASON_CODES: readonly string[] = ['software_mode', 'mode_insufficient'];

/**
 * Whether a software-mode attestation result is the chosen development state: its host declared
 * development mode, it gives no reason besides being software mode, and no TPM was ever enrolled
 * on this bus. The last condition is what keeps a compromised host from passing a real failure
 * off as development mode by making its TPM disappear: deleting the attestor's profile or
 * renaming the host (a new aggregate) does not remove the enrolment from the history.
 */
export function developmentMode(
  ledger: AttestationLedger,
  data: { host: string; mode: string; reasons: readonly string[] },
): { chosen: true } | { chosen: false; why: string | null } {
  if (data.mode !== 'software') return { chosen: false, why: null };
  const t = ledger.tpmEnrolment;
  if (t !== null)
    return {
      chosen: false,
      why: `a TPM was enrolled on this appliance (${t.mode} mode, host ${t.host}, event ${t.eventId}) and the attestor now runs without one: not development mode`,
    };
  if (!ledger.declared.has(data.host)) return { chosen: false, why: null };
  const codes = data.reasons.map((r) => r.slice(0, Math.max(0, r.indexOf(':'))) || r);
  if (!codes.every((c) => DEVELOPMENT_REASON_CODES.includes(c)))
    return { chosen: false, why: null };
  return { chosen: true };
}

/**
 * The observation an event stands for under `policy`, or null (not an incident, or a type the
 * burst detector handles). Severity: the rule's fixed one, else the class default raised to the
 * severity the event reports (a reporter can raise, never lower, what policy says). `ledger` is
 * what the stream said about attestation before this event (empty: nothing is development mode).
 */
export function classify(
  event: ObservedEvent,
  policy: IncidentPolicy,
  ledger: AttestationLedger = initialAttestationLedger(),
): Observation | null {
  const build = (
    kind: ObservationKind,
    subject: string,
    description: string,
    reported?: IncidentSeverityName,
  ): Observation | null => {
    const rule = policy.observations[kind];
    if (!rule) return null;
    const base = policy.classes[rule.class].severity;
    const severity = rule.severity ?? (reported ? maxSeverity(base, reported) : base);
    return {
      class: rule.class,
      severity,
      subject,
      reportedBy: serviceOf(event),
      description: clip(description),
      causeId: event.id,
      causeIds: [event.id],
      time: event.time,
      correlationId: event.correlationId,
    };
  };
  switch (event.type) {
    case 'integrity.violation.detected': {
      const d = event.data as EventData<'integrity.violation.detected'>;
      const text = `integrity violation: ${d.path} ${d.kind} (${d.pathClass}), expected ${short(d.expected)}, found ${short(d.actual)}`;
      if (d.pathClass === 'model_file') {
        const hex = modelOfPath(d.path);
        return build(
          'model_file_violation',
          hex ? `model/${hex}` : event.subject,
          text,
          d.severity,
        );
      }
      return build('integrity_violation', event.subject, text, d.severity);
    }
    case 'attestation.failed':
    case 'attestation.degraded': {
      const d = event.data as EventData<'attestation.failed'>;
      const outcome = event.type === 'attestation.failed' ? 'failed' : 'degraded';
      const dev = developmentMode(ledger, d);
      // Development mode was declared and recorded; its runs are not incidents (issue 9 §7).
      if (dev.chosen) return null;
      // A TPM that went away is a failed attestation whatever this run's policy made of it.
      const failed = event.type === 'attestation.failed' || dev.why !== null;
      return build(
        failed ? 'attestation_failed' : 'attestation_degraded',
        event.subject,
        `attestation ${outcome} on ${d.host} (${d.mode}): ${[...d.reasons, ...(dev.why ? [dev.why] : [])].join('; ')}`,
      );
    }
    case 'security.envelope.rejected': {
      const d = event.data as EventData<'security.envelope.rejected'>;
      // Every consumer that refuses the same forgery reports it: they correlate on the identity
      // the envelope claimed, when it claims one of ours.
      const claimed = d.claimed.source ? serviceOfSource(d.claimed.source) : null;
      const subject =
        claimed && /^[a-z][a-z0-9-]*$/.test(claimed) ? `service/${claimed}` : event.subject;
      return build(
        'envelope_rejected',
        subject,
        `${serviceOf(event)} (${d.consumer}) refused an envelope: ${d.code}, claiming ${d.claimed.type ?? 'an unknown type'} from ${d.claimed.source ?? 'an unknown source'}: ${d.reason}`,
      );
    }
    case 'model.verification.failed': {
      const d = event.data as EventData<'model.verification.failed'>;
      return build(
        'model_verification_failed',
        event.subject,
        `${event.subject} failed verification (${d.problem}, ${d.trigger}): expected ${short(d.expected)}, found ${short(d.actual)}`,
      );
    }
    case 'model.behavior.anomaly': {
      const d = event.data as EventData<'model.behavior.anomaly'>;
      return build(
        'model_behavior_anomaly',
        event.subject,
        `${event.subject} behaved anomalously (${d.kind}): ${d.detail}`,
        d.severity,
      );
    }
    case 'gpu.anomaly.detected': {
      const d = event.data as EventData<'gpu.anomaly.detected'>;
      const kind = GPU_ANOMALY_KINDS[d.kind];
      // A model's anomaly is about the model, so its containment quarantines it (and it
      // correlates with the registry's and the integrity monitor's observations of the same
      // model); the host's hardware and driver are the gpu/<host> aggregate's.
      const model = d.model === null ? null : /^sha256:([0-9a-f]{64})$/.exec(d.model)?.[1];
      const subject = kind.aboutModel && model ? `model/${model}` : event.subject;
      return build(
        kind.observation,
        subject,
        `GPU integrity ${d.verdict} on ${d.host} (cycle ${d.cycle}, composite ${d.composite}): ${d.kind} found by ${d.failedProbes.join(', ') || 'no probe'}: ${d.summary}`,
        d.severity,
      );
    }
    default:
      return null;
  }
}

/** The observation kind each GPU anomaly kind is, and whether it is about a model. */
const GPU_ANOMALY_KINDS: Record<
  EventData<'gpu.anomaly.detected'>['kind'],
  { observation: ObservationKind; aboutModel: boolean }
> = {
  model_drift: { observation: 'gpu_model_drift', aboutModel: true },
  model_file_changed: { observation: 'gpu_model_file_changed', aboutModel: true },
  hardware_fault: { observation: 'gpu_hardware_fault', aboutModel: false },
  driver_changed: { observation: 'gpu_driver_changed', aboutModel: false },
  device_unexpected: { observation: 'gpu_device_unexpected', aboutModel: false },
};

// ---- Denial bursts ----------------------------------------------------------------------------

/**
 * Recent denials per rule and key (caller, or caller and subject), oldest first, least recently
 * used key first. An accumulator the detector updates in place: copying it per denial would cost
 * more than the rule itself.
 */
export interface BurstState {
  windows: Map<string, { id: string; at: number }[]>;
}

export const MAX_BURST_KEYS = 10_000;

export function initialBurstState(): BurstState {
  return { windows: new Map() };
}

/**
 * Feeds one `policy.decided`, or each member of a `policy.decisions.recorded`, to the burst rules
 * (updating `state`): a denial from a caller is remembered per rule in its window, and from the
 * rule's threshold on every further event of denials is an observation of the rule's class about
 * `service/<caller>`. Every member of a group counts as one denial; one event makes at most one
 * observation per rule and key, whose causes are the events holding the window's denials. Times
 * are the decisions' own (stream) times, so a replay of the same events gives the same
 * observations.
 */
export function observeDecision(
  state: BurstState,
  event: ObservedEvent,
  policy: IncidentPolicy,
): Observation[] {
  const denials = decisionsIn(event).filter((m) => m.data.decision === 'deny');
  if (denials.length === 0) return [];
  const at = Date.parse(event.time);
  const windows = state.windows;
  const observations: Observation[] = [];
  for (const rule of policy.denyBursts) {
    const byKey = new Map<string, DecisionRecord[]>();
    for (const m of denials) {
      const d = m.data;
      if (!rule.domains.includes(d.domain) || rule.excludeCallers.includes(d.caller)) continue;
      const key = rule.sameSubject
        ? `${rule.id}|${d.caller}|${d.subject.digest}`
        : `${rule.id}|${d.caller}`;
      byKey.set(key, [...(byKey.get(key) ?? []), m]);
    }
    for (const [key, members] of byKey) {
      const d = members[members.length - 1]!.data;
      const keep = Math.max(rule.threshold, 32);
      const recent = (windows.get(key) ?? []).filter((e) => e.at > at - rule.windowSeconds * 1000);
      const next = [...recent, ...members.map(() => ({ id: event.id, at }))].slice(-keep);
      windows.delete(key); // re-insert: iteration order is least recently used first
      windows.set(key, next);
      if (next.length < rule.threshold) continue;
      const base = policy.classes[rule.class].severity;
      const what = rule.sameSubject
        ? `the same ${d.domain} request (${d.subject.redacted})`
        : d.domain;
      observations.push({
        class: rule.class,
        severity: base,
        subject: `service/${d.caller}`,
        reportedBy: serviceOf(event),
        description: clip(
          `${next.length} policy denials of ${what} for ${d.caller} within ${rule.windowSeconds} s (rule ${rule.id}; last: ${d.evidence.ruleId})`,
        ),
        causeId: event.id,
        // The events holding them: a group's members share one (causes are unique event ids).
        causeIds: [...new Set(next.map((e) => e.id))].slice(-32),
        time: event.time,
        correlationId: event.correlationId,
      });
    }
  }
  while (windows.size > MAX_BURST_KEYS) windows.delete(windows.keys().next().value!);
  return observations;
}
