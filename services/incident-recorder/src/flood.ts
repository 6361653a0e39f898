import {
  EVENT_SUBJECT_PREFIX,
  SERVICES,
  serviceOfSource,
  type EventData,
  type ServiceName,
} from '@secai/contracts';
import { permissionsFor, permits, type SubjectPermissions } from '@secai/streams';
import type { ObservedEvent, Observation } from './classifier.js';
import type { IncidentPolicy } from './policy/schema.js';

// Refusal floods (issue 10 §1): one identity publishing envelopes that the recorder's consumers
// refuse, faster than a bound. Pure: the event, the policy and the detector's state come in.

/**
 * The one identity that may publish on a stored event's NATS subject, or null. Asked of the
 * permissions the server runs with (streams' `permissionsFor`, generated from the authority
 * table), so the subject a message was stored on names who sent it, whatever the message claims.
 * Null when no single service may publish there (several emitters, as `model.*`; only the
 * appliance, which may publish anywhere and holds the root; or not an event subject): such a
 * flood opens an incident that names no identity to revoke.
 */
export function offenderOf(natsSubject: string): ServiceName | null {
  if (!natsSubject.startsWith(`${EVENT_SUBJECT_PREFIX}.`)) return null;
  const publishers = publisherPermissions().filter(([, p]) => permits(p, 'publish', natsSubject));
  return publishers.length === 1 ? publishers[0]![0] : null;
}

let publishers: [ServiceName, SubjectPermissions][] | null = null;

/** Every service but the appliance, with the permissions the server gives it. */
function publisherPermissions(): [ServiceName, SubjectPermissions][] {
  publishers ??= SERVICES.filter((s) => s !== 'appliance').map((s) => [s, permissionsFor(s)]);
  return publishers;
}

/** Recent refusals per offender (stream sequence and recording time), oldest first. */
export interface FloodState {
  windows: Map<string, { seq: number; id: string; at: number }[]>;
}

export const MAX_FLOOD_KEYS = 1_000;

export function initialFloodState(): FloodState {
  return { windows: new Map() };
}

const clip = (text: string, max = 1024) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/**
 * Feeds one `security.envelope.rejected` to the flood rule (updating `state`). Only refusals this
 * recorder recorded itself count (`self`: a refusal recorded by another service is that
 * service's word, and a compromised one could name any subject to get an innocent identity
 * revoked), and only of stored messages (a refused command's subject names no single sender).
 * From the rule's threshold within its window on, every further refusal from the same offender
 * is an observation of the rule's class about `identity/<offender>` (`identity/unknown` when the
 * subject names no single publisher), and is then that incident's, not a separate unauthorised
 * access. Times are the refusals' recording times, so a replay gives the same observations.
 */
export function observeRefusal(
  state: FloodState,
  event: ObservedEvent,
  policy: IncidentPolicy,
  self: string,
): Observation[] {
  const rule = policy.refusalFlood;
  if (
    rule === null ||
    event.type !== 'security.envelope.rejected' ||
    serviceOfSource(event.source) !== self
  )
    return [];
  const d = event.data as EventData<'security.envelope.rejected'>;
  if (d.streamSeq === null) return [];
  const offender = offenderOf(d.natsSubject);
  const key = offender ?? `unknown:${d.natsSubject.split('.').slice(0, 3).join('.')}`;
  const at = Date.parse(event.time);
  const since = at - rule.windowSeconds * 1000;
  const recent = (state.windows.get(key) ?? []).filter((e) => e.at > since);
  // A refusal recorded twice (a crash between the record and the acknowledgement) counts once.
  const next = recent.some((e) => e.seq === d.streamSeq)
    ? recent
    : [...recent, { seq: d.streamSeq, id: event.id, at }].slice(-Math.max(rule.threshold, 32));
  state.windows.delete(key); // re-insert: iteration order is least recently used first
  state.windows.set(key, next);
  while (state.windows.size > MAX_FLOOD_KEYS)
    state.windows.delete(state.windows.keys().next().value!);
  if (next.length < rule.threshold) return [];
  return [
    {
      class: rule.class,
      severity: policy.classes[rule.class].severity,
      subject: `identity/${offender ?? 'unknown'}`,
      reportedBy: self,
      description: clip(
        `${next.length} refused envelopes within ${rule.windowSeconds} s stored on ${d.natsSubject}` +
          (offender
            ? `, which only ${offender} may publish on`
            : ', a subject no single identity publishes on') +
          ` (last: ${d.code}: ${d.reason})`,
      ),
      causeId: event.id,
      causeIds: next.slice(-32).map((e) => e.id),
      time: event.time,
      correlationId: event.correlationId,
    },
  ];
}
