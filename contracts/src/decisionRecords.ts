import type { EventData } from './events/index.js';

// The decisions an event holds, each with its own address. The policy engine records a decision
// alone as `policy.decided`, or with others that arrived together as one
// `policy.decisions.recorded` (group commit: one signature, one acknowledgement). Every reader of
// decisions (replay, tail, the incident recorder, the quarantine) goes through `decisionsIn`, so
// none of them re-implements the addressing or forgets the groups.

/** The event types that carry policy decisions, on `decision/<domain>`. */
export const DECISION_EVENT_TYPES = ['policy.decided', 'policy.decisions.recorded'] as const;
export type DecisionEventType = (typeof DECISION_EVENT_TYPES)[number];

export function isDecisionEventType(type: string): type is DecisionEventType {
  return type === 'policy.decided' || type === 'policy.decisions.recorded';
}

/** One recorded decision and where it is. */
export interface DecisionRecord {
  /** Its address: the event id for a `policy.decided`, `<event id>#<index>` for a group member. */
  decisionId: string;
  /** The event that holds it (its causation, its place in the stream). */
  eventId: string;
  /** Its place in the group (0-based); null for a `policy.decided`. */
  index: number | null;
  /** Exactly what a `policy.decided` carries. */
  data: EventData<'policy.decided'>;
}

/** The address of a decision: `eventId` alone, or `<eventId>#<index>` for a group member. */
export function decisionIdOf(eventId: string, index: number | null): string {
  return index === null ? eventId : `${eventId}#${index}`;
}

/**
 * The event id and member index an address names (null when it is not an address: empty parts,
 * an index that is not a plain non-negative integer, or more than one `#`).
 */
export function parseDecisionId(
  decisionId: string,
): { eventId: string; index: number | null } | null {
  const hash = decisionId.indexOf('#');
  if (hash === -1) return decisionId.length > 0 ? { eventId: decisionId, index: null } : null;
  const eventId = decisionId.slice(0, hash);
  const index = decisionId.slice(hash + 1);
  if (eventId.length === 0 || !/^(0|[1-9][0-9]{0,8})$/.test(index)) return null;
  return { eventId, index: Number(index) };
}

/**
 * The decisions of one **verified** event (its data already checked against its schema), in
 * order: one for a `policy.decided`, each member of a `policy.decisions.recorded`, none for any
 * other type.
 */
export function decisionsIn(event: { id: string; type: string; data: unknown }): DecisionRecord[] {
  if (event.type === 'policy.decided') {
    const data = event.data as EventData<'policy.decided'>;
    return [{ decisionId: event.id, eventId: event.id, index: null, data }];
  }
  if (event.type === 'policy.decisions.recorded') {
    const { decisions } = event.data as EventData<'policy.decisions.recorded'>;
    return decisions.map((data, index) => ({
      decisionId: decisionIdOf(event.id, index),
      eventId: event.id,
      index,
      data,
    }));
  }
  return [];
}

/** The decision an address names inside `event` (null when the event does not hold it). */
export function decisionAt(
  event: { id: string; type: string; data: unknown },
  decisionId: string,
): DecisionRecord | null {
  const address = parseDecisionId(decisionId);
  if (address === null || address.eventId !== event.id) return null;
  const records = decisionsIn(event);
  if (address.index === null) return event.type === 'policy.decided' ? (records[0] ?? null) : null;
  return event.type === 'policy.decisions.recorded' ? (records[address.index] ?? null) : null;
}
