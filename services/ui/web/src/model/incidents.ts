import type { EventData } from './catalogue.js';
import { own, type Seen } from './types.js';

// Incidents: a board (open ones by severity) and each incident's timeline in the order a person
// reads it: observation → classification → containment actions → outcome → ceremony. The
// recorder's lifecycle: open → contained | containment_failed → resolved → acknowledged (final).
// Resolved and acknowledged incidents leave the board.

export type Severity = EventData<'incident.opened'>['severity'];
export const SEVERITIES_HIGH_FIRST: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

export type IncidentPhase =
  'observation' | 'classification' | 'containment' | 'outcome' | 'ceremony';
export type IncidentStatus =
  'open' | 'containing' | 'contained' | 'containment_failed' | 'acknowledged' | 'resolved';

export interface TimelineEntry {
  phase: IncidentPhase;
  type: string;
  seq: number;
  time: string;
  /** One line, built from the event's data. */
  summary: string;
  /** For containment actions and outcomes: whether it worked. */
  ok?: boolean;
}

export interface Incident {
  id: string;
  /** Null when the window on screen starts after the incident was opened. */
  class: string | null;
  severity: Severity | null;
  subject: string | null;
  reportedBy: string | null;
  description: string | null;
  status: IncidentStatus;
  observations: number;
  openedAt: string | null;
  updatedAt: string;
  timeline: TimelineEntry[];
}

export type IncidentsView = Readonly<Record<string, Incident>>;

export const initialIncidents = (): IncidentsView => ({});

type IncidentEventData = { incidentId: string };

export function foldIncidents(view: IncidentsView, e: Seen): IncidentsView {
  const { type, data, time } = e.event;
  if (!type.startsWith('incident.')) return view;
  const id = (data as IncidentEventData).incidentId;
  const incident: Incident = {
    ...(own(view, id) ?? blank(id, time)),
    updatedAt: time,
  };
  const at = { type, seq: e.seq, time };
  const add = (entry: Omit<TimelineEntry, 'type' | 'seq' | 'time'>) => {
    incident.timeline = [...incident.timeline, { ...at, ...entry }];
  };

  switch (type) {
    case 'incident.opened': {
      const d = data as EventData<'incident.opened'>;
      Object.assign(incident, {
        class: d.class,
        severity: d.severity,
        subject: d.subject,
        reportedBy: d.reportedBy,
        description: d.description,
        openedAt: time,
        observations: Math.max(incident.observations, d.causeEventIds.length),
      });
      add({
        phase: 'observation',
        summary: `${d.reportedBy} observed: ${d.description} (${d.causeEventIds.length} event(s))`,
      });
      add({ phase: 'classification', summary: `${d.class}, ${d.severity}, about ${d.subject}` });
      break;
    }
    case 'incident.observation.attached': {
      const d = data as EventData<'incident.observation.attached'>;
      incident.observations = d.count;
      add({ phase: 'observation', summary: `observation ${d.count} attached (${d.causeEventId})` });
      break;
    }
    case 'incident.escalated': {
      const d = data as EventData<'incident.escalated'>;
      incident.severity = d.to;
      add({
        phase: 'classification',
        summary: `escalated ${d.from} → ${d.to} by ${d.rule.id} (${d.observationCount} observations in ${d.rule.windowSeconds} s)`,
      });
      break;
    }
    case 'incident.containment.requested': {
      const d = data as EventData<'incident.containment.requested'>;
      if (incident.status === 'open') incident.status = 'containing';
      add({
        phase: 'containment',
        summary: `requested: ${d.actions.map((a) => `${a.action} → ${a.target}`).join(', ')}`,
      });
      break;
    }
    case 'incident.containment.action.completed': {
      const d = data as EventData<'incident.containment.action.completed'>;
      add({
        phase: 'containment',
        ok: d.ok,
        summary: `${d.action} → ${d.target}: ${d.ok ? 'done' : 'FAILED'}${d.detail ? ` (${d.detail})` : ''}`,
      });
      break;
    }
    case 'incident.contained': {
      const d = data as EventData<'incident.contained'>;
      if (!isClosed(incident.status)) incident.status = 'contained';
      add({
        phase: 'outcome',
        ok: true,
        summary: `contained: ${d.actions.join(', ') || 'nothing to do'}`,
      });
      break;
    }
    case 'incident.containment.failed': {
      const d = data as EventData<'incident.containment.failed'>;
      if (!isClosed(incident.status)) incident.status = 'containment_failed';
      add({
        phase: 'outcome',
        ok: false,
        summary: `containment failed: ${d.failed.map((f) => `${f.action} → ${f.target}`).join(', ')}`,
      });
      break;
    }
    case 'incident.acknowledged':
    case 'incident.resolved': {
      const d = data as EventData<'incident.acknowledged'>;
      const resolved = type === 'incident.resolved';
      // The recorder's order: resolved, then acknowledged (the release, final).
      if (!resolved || incident.status !== 'acknowledged') {
        incident.status = resolved ? 'resolved' : 'acknowledged';
      }
      const reattest = d.ceremony.reattestRequired
        ? d.ceremony.attestationEventId === null
          ? ', re-attestation required'
          : `, re-attested (${d.ceremony.attestationEventId})`
        : '';
      add({
        phase: 'ceremony',
        summary: `${resolved ? 'resolved' : 'acknowledged'} by ${d.operator}${reattest}${d.note ? `: ${d.note}` : ''}`,
      });
      break;
    }
    default:
      return view;
  }
  return { ...view, [id]: incident };
}

/** Resolved or acknowledged: off the board. */
export function isClosed(status: IncidentStatus): boolean {
  return status === 'acknowledged' || status === 'resolved';
}

function blank(id: string, time: string): Incident {
  return {
    id,
    class: null,
    severity: null,
    subject: null,
    reportedBy: null,
    description: null,
    status: 'open',
    observations: 0,
    openedAt: null,
    updatedAt: time,
    timeline: [],
  };
}

export interface IncidentBoard {
  /** Unresolved incidents by severity, highest first; those of unknown severity last. */
  columns: { severity: Severity | 'unknown'; incidents: Incident[] }[];
  /** Resolved or acknowledged, newest first. */
  resolved: Incident[];
  openCount: number;
}

export function incidentBoard(view: IncidentsView): IncidentBoard {
  const all = Object.values(view).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  const open = all.filter((i) => !isClosed(i.status));
  const columns = [...SEVERITIES_HIGH_FIRST, 'unknown' as const].map((severity) => ({
    severity,
    incidents: open.filter((i) => (i.severity ?? 'unknown') === severity),
  }));
  return { columns, resolved: all.filter((i) => isClosed(i.status)), openCount: open.length };
}

/** Open incidents counted per severity (the overview's line). */
export function openBySeverity(view: IncidentsView): Record<Severity | 'unknown', number> {
  const counts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const i of Object.values(view)) {
    if (!isClosed(i.status)) counts[i.severity ?? 'unknown'] += 1;
  }
  return counts;
}
