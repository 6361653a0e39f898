import { and, assign, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import {
  INCIDENT_SEVERITIES,
  canonicalJson,
  isActiveIncidentState,
  type IncidentState,
  sha256Hex,
  type ContainmentActionName,
  type EventData,
  type IncidentClassName,
  type IncidentSeverityName,
} from '@secai/contracts';

/**
 * The lifecycle of one incident (`incident/<id>`) as an xstate v5 machine:
 *
 *   none → open → contained | containment_failed → resolved → acknowledged
 *
 * (`open → resolved` directly when no containment was requested). It is driven by the very events
 * that are stored, so an incident's state is recovered by replaying them with the pure
 * `transition()`; no stored snapshot is trusted. Guards refuse what the history cannot contain:
 * a second containment request, a result for an action not pending, an outcome before every
 * action finished, a resolution whose ceremony is not bound to the incident as it stands, an
 * acknowledgement before the resolution. A refused event leaves the snapshot as it was and is
 * reported by `replayIncident` (a history anomaly, never silently applied).
 */

export const INCIDENT_EVENT_TYPES = [
  'incident.opened',
  'incident.observation.attached',
  'incident.escalated',
  'incident.containment.requested',
  'incident.containment.action.completed',
  'incident.contained',
  'incident.containment.failed',
  'incident.resolved',
  'incident.acknowledged',
] as const;
export type IncidentEventType = (typeof INCIDENT_EVENT_TYPES)[number];

export function isIncidentEventType(type: string): type is IncidentEventType {
  return (INCIDENT_EVENT_TYPES as readonly string[]).includes(type);
}

/** One stored event of an incident, with where and when it was stored. */
export type IncidentEvent = {
  [T in IncidentEventType]: { type: T; data: EventData<T>; id: string; seq: number; time: string };
}[IncidentEventType];

/** contracts' `INCIDENT_STATES`, plus `none` before an incident's opening event. */
export type IncidentStateName = 'none' | IncidentState;

export interface RequestedAction {
  action: ContainmentActionName;
  target: string;
}

export interface ActionResult extends RequestedAction {
  ok: boolean;
  detail: string;
  durationMs: number;
  at: string;
  eventId: string;
  seq: number;
}

export type Ceremony = EventData<'incident.resolved'>['ceremony'];

export interface Closing {
  operator: string;
  note: string;
  ceremony: Ceremony;
  at: string;
  eventId: string;
}

export interface IncidentContext {
  incidentId: string;
  class: IncidentClassName | null;
  severity: IncidentSeverityName | null;
  subject: string;
  reportedBy: string;
  description: string;
  openedAt: string;
  openedEventId: string;
  openedSeq: number;
  /** Events that make up the observations (the opening ones, then the last attached ones). */
  causeEventIds: string[];
  /** When each observation was recorded (the opening and the last attached ones). */
  observedAt: string[];
  observationCount: number;
  escalations: {
    ruleId: string;
    from: IncidentSeverityName;
    to: IncidentSeverityName;
    at: string;
  }[];
  requested: RequestedAction[] | null;
  requestedAt: string | null;
  requestedEventId: string | null;
  results: ActionResult[];
  concludedAt: string | null;
  /** Stream sequence after which a re-attestation counts (the last event the binding covers). */
  requiredAfterSeq: number;
  resolution: Closing | null;
  acknowledgement: Closing | null;
  lastSeq: number;
}

/** Cause ids and observation times kept per incident (a redelivery is always a recent one). */
export const MAX_REMEMBERED_OBSERVATIONS = 1024;

const initialContext: IncidentContext = {
  incidentId: '',
  class: null,
  severity: null,
  subject: '',
  reportedBy: '',
  description: '',
  openedAt: '',
  openedEventId: '',
  openedSeq: 0,
  causeEventIds: [],
  observedAt: [],
  observationCount: 0,
  escalations: [],
  requested: null,
  requestedAt: null,
  requestedEventId: null,
  results: [],
  concludedAt: null,
  requiredAfterSeq: 0,
  resolution: null,
  acknowledgement: null,
  lastSeq: 0,
};

export const severityRank = (s: IncidentSeverityName): number => INCIDENT_SEVERITIES.indexOf(s);

/**
 * The containment binding (reference §3.7): a digest over what the incident is and what its
 * containment did. A resolution is bound to it; anything that changes it after the fact (an
 * escalation, a containment result) needs a new ceremony.
 */
export function bindingOf(ctx: IncidentContext): string {
  return `sha256:${sha256Hex(
    canonicalJson({
      incidentId: ctx.incidentId,
      class: ctx.class,
      severity: ctx.severity,
      actions: ctx.requested ?? [],
      results: ctx.results.map((r) => ({ action: r.action, target: r.target, ok: r.ok })),
    }),
  )}`;
}

export function pendingActions(ctx: IncidentContext): RequestedAction[] {
  if (!ctx.requested) return [];
  return ctx.requested.filter(
    (a) => !ctx.results.some((r) => r.action === a.action && r.target === a.target),
  );
}

const last = <T>(list: T[], item: T | T[]): T[] =>
  [...list, ...(Array.isArray(item) ? item : [item])].slice(-MAX_REMEMBERED_OBSERVATIONS);

/** The context after an accepted event (the guards have already said it may happen). */
function apply(ctx: IncidentContext, e: IncidentEvent): IncidentContext {
  const next: IncidentContext = { ...ctx, lastSeq: e.seq };
  switch (e.type) {
    case 'incident.opened':
      return {
        ...next,
        incidentId: e.data.incidentId,
        class: e.data.class,
        severity: e.data.severity,
        subject: e.data.subject,
        reportedBy: e.data.reportedBy,
        description: e.data.description,
        openedAt: e.time,
        openedEventId: e.id,
        openedSeq: e.seq,
        causeEventIds: [...e.data.causeEventIds],
        observedAt: [e.time],
        observationCount: 1,
        requiredAfterSeq: e.seq,
      };
    case 'incident.observation.attached':
      return {
        ...next,
        causeEventIds: last(ctx.causeEventIds, e.data.causeEventId),
        observedAt: last(ctx.observedAt, e.time),
        observationCount: e.data.count,
      };
    case 'incident.escalated':
      return {
        ...next,
        severity: e.data.to,
        escalations: [
          ...ctx.escalations,
          { ruleId: e.data.rule.id, from: e.data.from, to: e.data.to, at: e.time },
        ],
        requiredAfterSeq: e.seq,
      };
    case 'incident.containment.requested':
      return {
        ...next,
        requested: e.data.actions.map((a) => ({ ...a })),
        requestedAt: e.time,
        requestedEventId: e.id,
      };
    case 'incident.containment.action.completed':
      return {
        ...next,
        results: [
          ...ctx.results,
          {
            action: e.data.action,
            target: e.data.target,
            ok: e.data.ok,
            detail: e.data.detail,
            durationMs: e.data.durationMs,
            at: e.time,
            eventId: e.id,
            seq: e.seq,
          },
        ],
        requiredAfterSeq: e.seq,
      };
    case 'incident.contained':
    case 'incident.containment.failed':
      return { ...next, concludedAt: e.time, requiredAfterSeq: e.seq };
    case 'incident.resolved':
      return { ...next, resolution: closing(e) };
    case 'incident.acknowledged':
      return { ...next, acknowledgement: closing(e) };
  }
}

function closing(
  e: Extract<IncidentEvent, { type: 'incident.resolved' | 'incident.acknowledged' }>,
): Closing {
  return {
    operator: e.data.operator,
    note: e.data.note,
    ceremony: { ...e.data.ceremony },
    at: e.time,
    eventId: e.id,
  };
}

type Args = { context: IncidentContext; event: IncidentEvent };

const ofThis = ({ context, event }: Args) => event.data.incidentId === context.incidentId;

/** A ceremony bound to the incident as it stands, internally consistent. */
export function ceremonyHolds(ctx: IncidentContext, ceremony: Ceremony): boolean {
  if (ceremony.binding !== bindingOf(ctx)) return false;
  if (ctx.severity === 'critical' && !ceremony.reattestRequired) return false;
  return !ceremony.reattestRequired || ceremony.attestationEventId !== null;
}

export const incidentMachine = setup({
  types: { context: {} as IncidentContext, events: {} as IncidentEvent },
  guards: {
    ofThis,
    newObservation: (a: Args) =>
      ofThis(a) &&
      a.event.type === 'incident.observation.attached' &&
      !a.context.causeEventIds.includes(a.event.data.causeEventId) &&
      a.event.data.count === a.context.observationCount + 1,
    upward: (a: Args) =>
      ofThis(a) &&
      a.event.type === 'incident.escalated' &&
      a.event.data.from === a.context.severity &&
      severityRank(a.event.data.to) > severityRank(a.event.data.from),
    firstRequest: (a: Args) => ofThis(a) && a.context.requested === null,
    pendingAction: (a: Args) =>
      ofThis(a) &&
      a.event.type === 'incident.containment.action.completed' &&
      pendingActions(a.context).some(
        (p) =>
          a.event.type === 'incident.containment.action.completed' &&
          p.action === a.event.data.action &&
          p.target === a.event.data.target,
      ),
    allSucceeded: (a: Args) =>
      ofThis(a) &&
      a.context.requested !== null &&
      pendingActions(a.context).length === 0 &&
      a.context.results.every((r) => r.ok),
    someFailed: (a: Args) =>
      ofThis(a) &&
      a.context.requested !== null &&
      pendingActions(a.context).length === 0 &&
      a.context.results.some((r) => !r.ok),
    ceremonyHolds: (a: Args) =>
      ofThis(a) &&
      (a.event.type === 'incident.resolved' || a.event.type === 'incident.acknowledged') &&
      ceremonyHolds(a.context, a.event.data.ceremony),
    nothingRequested: (a: Args) => a.context.requested === null,
  },
  actions: {
    record: assign(({ context, event }) => apply(context, event)),
  },
}).createMachine({
  id: 'incident',
  initial: 'none',
  context: initialContext,
  // Observations and escalations are recorded in every state before the resolution.
  states: {
    none: {
      on: { 'incident.opened': { target: 'open', actions: 'record' } },
    },
    open: {
      on: {
        'incident.observation.attached': { guard: 'newObservation', actions: 'record' },
        'incident.escalated': { guard: 'upward', actions: 'record' },
        'incident.containment.requested': { guard: 'firstRequest', actions: 'record' },
        'incident.containment.action.completed': { guard: 'pendingAction', actions: 'record' },
        'incident.contained': { guard: 'allSucceeded', target: 'contained', actions: 'record' },
        'incident.containment.failed': {
          guard: 'someFailed',
          target: 'containment_failed',
          actions: 'record',
        },
        'incident.resolved': {
          guard: and(['nothingRequested', 'ceremonyHolds']),
          target: 'resolved',
          actions: 'record',
        },
      },
    },
    contained: {
      on: {
        'incident.observation.attached': { guard: 'newObservation', actions: 'record' },
        'incident.escalated': { guard: 'upward', actions: 'record' },
        'incident.resolved': { guard: 'ceremonyHolds', target: 'resolved', actions: 'record' },
      },
    },
    containment_failed: {
      on: {
        'incident.observation.attached': { guard: 'newObservation', actions: 'record' },
        'incident.escalated': { guard: 'upward', actions: 'record' },
        'incident.resolved': { guard: 'ceremonyHolds', target: 'resolved', actions: 'record' },
      },
    },
    resolved: {
      on: {
        'incident.acknowledged': {
          guard: 'ceremonyHolds',
          target: 'acknowledged',
          actions: 'record',
        },
      },
    },
    acknowledged: { type: 'final' },
  },
});

export type IncidentSnapshot = SnapshotFrom<typeof incidentMachine>;

export function initialIncident(): IncidentSnapshot {
  return initialTransition(incidentMachine)[0];
}

export function stateOf(snapshot: IncidentSnapshot): IncidentStateName {
  return snapshot.value;
}

/** Applies one stored event; `accepted` false when the machine refused it (snapshot unchanged). */
export function applyEvent(
  snapshot: IncidentSnapshot,
  event: IncidentEvent,
): { snapshot: IncidentSnapshot; accepted: boolean } {
  const [next] = transition(incidentMachine, snapshot, event);
  const accepted = next.context.lastSeq === event.seq && snapshot.context.lastSeq !== event.seq;
  return { snapshot: accepted ? next : snapshot, accepted };
}

/**
 * The incident after its stored events, recomputed with the pure transition function (from its
 * beginning, or from `from`: a snapshot the events follow).
 */
export function replayIncident(
  events: readonly IncidentEvent[],
  from: IncidentSnapshot = initialIncident(),
): {
  snapshot: IncidentSnapshot;
  ignored: IncidentEvent[];
} {
  let snapshot = from;
  const ignored: IncidentEvent[] = [];
  for (const event of events) {
    const step = applyEvent(snapshot, event);
    snapshot = step.snapshot;
    if (!step.accepted) ignored.push(event);
  }
  return { snapshot, ignored };
}

/** Not resolved yet: further observations of its class and subject attach to it. */
export function isActive(snapshot: IncidentSnapshot): boolean {
  return isActiveIncidentState(stateOf(snapshot));
}
