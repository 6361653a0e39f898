import {
  INCIDENT_SEVERITIES,
  isActiveIncidentState,
  type CloudEvent,
  type EnvelopeClaims,
  type EventData,
  type IncidentSeverityName,
  type IncidentState,
} from '@secai/contracts';
import {
  registryManifestProjection,
  serviceStatusProjection,
  type RegistryManifestDocument,
  type ServiceStatusDocument,
} from '@secai/projections';
import type { SealCheck } from './seals.js';

/**
 * What `secai watch` shows, as a pure fold over verified events (and refused envelopes, which
 * only ever reach the event pane and the refusal count: nothing an unverified envelope claims
 * changes the overview). Service states and the model registry reuse the projections' own
 * `evolve`, so the terminal says what `events replay --projection` would say.
 */
export interface WatchState {
  services: ServiceStatusDocument;
  models: RegistryManifestDocument;
  incidents: Record<string, IncidentSummary>;
  attestation: AttestationSummary | null;
  integrity: Record<string, IntegritySummary>;
  lastSeal: SealSummary | null;
  /** The newest events, oldest first, at most `RECENT_LIMIT`. */
  recent: EventRow[];
  counts: { verified: number; refused: number };
}

export interface IncidentSummary {
  id: string;
  class: string;
  severity: IncidentSeverityName;
  state: IncidentState;
  openedAt: string;
}

export interface AttestationSummary {
  host: string;
  mode: 'hardware' | 'evaluation' | 'software';
  /** The last run's verdict; `declared` when only a development-mode declaration was seen. */
  verdict: 'verified' | 'degraded' | 'failed' | 'declared' | 'enrolled';
  policySatisfied: boolean | null;
  evidenceVerified: boolean | null;
  /** The attestor declared development mode (software, no TPM) since it last started. */
  development: boolean;
  reasons: string[];
  time: string;
}

export interface IntegritySummary {
  state: 'ok' | 'degraded' | 'recovery_required';
  violationCount: number;
  time: string;
}

export interface SealSummary {
  fromSeq: number;
  toSeq: number;
  count: number;
  head: string;
  time: string;
  /** Whether the watch recomputed the same head from the entries it read (`SealChecker`). */
  check: SealCheck;
}

/** One line of the event pane. A refused row carries only what the envelope claims. */
export type EventRow =
  | {
      verdict: 'VERIFIED';
      seq: number | null;
      time: string;
      type: string;
      subject: string;
      emitter: string;
    }
  | {
      verdict: 'REFUSED';
      seq: number | null;
      code: string;
      /** When it reached the watch (the envelope's own time is only a claim). */
      receivedAt: string;
      /** The NATS subject it came on: the server's fact, not the envelope's claim. */
      natsSubject: string;
      claims: EnvelopeClaims;
    };

export const RECENT_LIMIT = 500;

export function initialWatchState(): WatchState {
  return {
    services: serviceStatusProjection.initialState(),
    models: registryManifestProjection.initialState(),
    incidents: {},
    attestation: null,
    integrity: {},
    lastSeal: null,
    recent: [],
    counts: { verified: 0, refused: 0 },
  };
}

function withRow(recent: EventRow[], row: EventRow): EventRow[] {
  const next = recent.length >= RECENT_LIMIT ? recent.slice(1 - RECENT_LIMIT) : recent.slice();
  next.push(row);
  return next;
}

/** One verified event (`seq` null when it came live on the core subscription). */
export function foldVerified(
  state: WatchState,
  e: { seq: number | null; event: CloudEvent },
): WatchState {
  const { event } = e;
  const projected = { seq: e.seq ?? 0, event };
  const next: WatchState = {
    ...state,
    services: serviceStatusProjection.evolve(state.services, projected),
    models: (registryManifestProjection.canHandle as readonly string[]).includes(event.type)
      ? registryManifestProjection.evolve(state.models, projected)
      : state.models,
    recent: withRow(state.recent, {
      verdict: 'VERIFIED',
      seq: e.seq,
      time: event.time,
      type: event.type,
      subject: event.subject,
      emitter: event.source.replace(/^secai:\/\//, ''),
    }),
    counts: { ...state.counts, verified: state.counts.verified + 1 },
  };
  if (event.type.startsWith('incident.')) next.incidents = foldIncident(state.incidents, event);
  else if (event.type.startsWith('attestation.'))
    next.attestation = foldAttestation(state.attestation, event);
  else if (event.type.startsWith('integrity.'))
    next.integrity = foldIntegrity(state.integrity, event);
  else if (event.type === 'audit.checkpoint.sealed') {
    const d = event.data as EventData<'audit.checkpoint.sealed'>;
    // Seals come in chain order; an older one arriving late (history after live) never wins.
    if (state.lastSeal === null || d.toSeq >= state.lastSeal.toSeq)
      next.lastSeal = {
        fromSeq: d.fromSeq,
        toSeq: d.toSeq,
        count: d.count,
        head: d.head,
        time: event.time,
        check: 'not-checked',
      };
  }
  return next;
}

/** The chain's verdict on the seal ending at `toSeq`, if it is still the last one shown. */
export function withSealCheck(state: WatchState, toSeq: number, check: SealCheck): WatchState {
  if (state.lastSeal?.toSeq !== toSeq) return state;
  return { ...state, lastSeal: { ...state.lastSeal, check } };
}

/** One refused envelope: a line in the pane and a count, nothing else. */
export function foldRefused(
  state: WatchState,
  r: {
    seq: number | null;
    code: string;
    natsSubject: string;
    receivedAt: string;
    claims: EnvelopeClaims;
  },
): WatchState {
  return {
    ...state,
    recent: withRow(state.recent, { verdict: 'REFUSED', ...r }),
    counts: { ...state.counts, refused: state.counts.refused + 1 },
  };
}

const STATE_AFTER: Partial<Record<string, IncidentState>> = {
  'incident.contained': 'contained',
  'incident.containment.failed': 'containment_failed',
  'incident.resolved': 'resolved',
  'incident.acknowledged': 'acknowledged',
};

function foldIncident(
  incidents: Record<string, IncidentSummary>,
  event: CloudEvent,
): Record<string, IncidentSummary> {
  const data = event.data as { incidentId: string };
  const id = data.incidentId;
  const current = Object.hasOwn(incidents, id) ? incidents[id] : undefined;
  if (event.type === 'incident.opened') {
    const d = event.data as EventData<'incident.opened'>;
    return {
      ...incidents,
      [id]: { id, class: d.class, severity: d.severity, state: 'open', openedAt: event.time },
    };
  }
  // Later steps of an incident opened before the history the watch read are not guessed at.
  if (!current) return incidents;
  if (event.type === 'incident.escalated') {
    const d = event.data as EventData<'incident.escalated'>;
    return { ...incidents, [id]: { ...current, severity: d.to } };
  }
  const state = STATE_AFTER[event.type];
  return state ? { ...incidents, [id]: { ...current, state } } : incidents;
}

function foldAttestation(
  current: AttestationSummary | null,
  event: CloudEvent,
): AttestationSummary | null {
  switch (event.type) {
    case 'attestation.development_mode.declared': {
      const d = event.data as EventData<'attestation.development_mode.declared'>;
      return {
        host: d.host,
        mode: 'software',
        verdict: 'declared',
        policySatisfied: null,
        evidenceVerified: false,
        development: true,
        reasons: [d.detail],
        time: event.time,
      };
    }
    case 'attestation.enrolled': {
      const d = event.data as EventData<'attestation.enrolled'>;
      // Enrolment says the mode; a run's verdict, once there is one, stays until the next run.
      if (current && current.mode === d.mode && current.verdict !== 'enrolled') return current;
      return {
        host: d.host,
        mode: d.mode,
        verdict: 'enrolled',
        policySatisfied: null,
        evidenceVerified: null,
        development: false,
        reasons: [],
        time: event.time,
      };
    }
    case 'attestation.verified':
    case 'attestation.degraded':
    case 'attestation.failed': {
      const d = event.data as EventData<'attestation.degraded'>;
      return {
        host: d.host,
        mode: d.mode,
        verdict: event.type.slice('attestation.'.length) as 'verified' | 'degraded' | 'failed',
        policySatisfied: d.policySatisfied,
        evidenceVerified: d.evidenceVerified,
        // A development declaration holds for software runs of the same attestor start.
        development: d.mode === 'software' && (current?.development ?? false),
        reasons: Array.isArray(d.reasons) ? d.reasons : [],
        time: event.time,
      };
    }
    default:
      return current;
  }
}

function foldIntegrity(
  integrity: Record<string, IntegritySummary>,
  event: CloudEvent,
): Record<string, IntegritySummary> {
  switch (event.type) {
    case 'integrity.state.changed': {
      const d = event.data as EventData<'integrity.state.changed'>;
      return {
        ...integrity,
        [d.pathClass]: { state: d.to, violationCount: d.violationCount, time: event.time },
      };
    }
    case 'integrity.baseline.created':
    case 'integrity.rebaselined': {
      const d = event.data as EventData<'integrity.baseline.created'>;
      return { ...integrity, [d.pathClass]: { state: 'ok', violationCount: 0, time: event.time } };
    }
    default:
      return integrity;
  }
}

/** Open (not yet resolved) incidents per severity, highest first. */
export function openIncidentsBySeverity(
  incidents: Record<string, IncidentSummary>,
): { severity: IncidentSeverityName; count: number }[] {
  const open = Object.values(incidents).filter((i) => isActiveIncidentState(i.state));
  return [...INCIDENT_SEVERITIES]
    .reverse()
    .map((severity) => ({ severity, count: open.filter((i) => i.severity === severity).length }));
}
