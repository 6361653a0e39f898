import { eventSubject, verifyEnvelope, type EventData, type TrustStore } from '@secai/contracts';
import {
  EVENTS_STREAM,
  firstSeqAtOrAfter,
  readHistory,
  streamBounds,
  type JetStreamClient,
  type JetStreamManager,
} from '@secai/streams';
import { UiError } from './errors.js';

// The recorded decisions a what-if re-evaluates, read from the stream and verified here (the
// page names them; the inputs come from the signed record, never from the browser). A decision
// id is a `policy.decided` event id, or `<policy.decisions.recorded id>#<i>` for a member of a
// group; event ids are UUIDv7, so reading starts near the time they carry.

export interface RecordedDecision {
  decisionId: string;
  /** The canonical input the engine decided on. */
  input: string;
  decision: string;
  ruleId: string;
}

export interface DecisionSource {
  js: JetStreamClient;
  jsm: JetStreamManager;
  trust: TrustStore;
}

/** Most decisions one what-if asks about (the engine's bound). */
export const MAX_WHAT_IF_DECISIONS = 100;
/** Envelopes read at most for one lookup: a what-if never walks the whole history. */
const MAX_SCANNED = 50_000;
/** Slack before the earliest time an id names, for clocks of different services. */
const SLACK_MS = 60_000;
const DECISION_ID =
  /^([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})(?:#(\d{1,3}))?$/;

interface Wanted {
  eventId: string;
  member: number | null;
}

/** A decision id's event and member, or null when it is not one (pure). */
export function parseDecisionId(id: string): Wanted | null {
  const m = DECISION_ID.exec(id);
  return m ? { eventId: m[1]!, member: m[2] === undefined ? null : Number(m[2]) } : null;
}

function timeOf(eventId: string): number {
  return parseInt(eventId.slice(0, 8) + eventId.slice(9, 13), 16);
}

/** The decisions named, in the order named; an id not found is 404 `TARGET_UNKNOWN`. */
export async function recordedDecisions(
  source: DecisionSource,
  ids: readonly string[],
): Promise<RecordedDecision[]> {
  const wanted = new Map<string, Wanted>();
  for (const id of ids) {
    const parsed = parseDecisionId(id);
    if (!parsed) throw new UiError('REQUEST_INVALID', `${id.slice(0, 80)} is not a decision id`);
    wanted.set(id, parsed);
  }
  const earliest = Math.min(...[...wanted.values()].map((w) => timeOf(w.eventId)));
  const fromSeq = await firstSeqAtOrAfter(source.js, EVENTS_STREAM, new Date(earliest - SLACK_MS));
  const found = new Map<string, RecordedDecision>();
  if (fromSeq !== null) {
    const eventIds = new Set([...wanted.values()].map((w) => w.eventId));
    await scan(source, fromSeq, (eventId, record) => {
      if (!eventIds.has(eventId)) return false;
      for (const [id, w] of wanted) {
        if (w.eventId !== eventId) continue;
        const data = record(w.member);
        if (data) found.set(id, data(id));
      }
      return found.size === wanted.size;
    });
  }
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0)
    throw new UiError('TARGET_UNKNOWN', `no recorded decision ${missing.slice(0, 5).join(', ')}`);
  return ids.map((id) => found.get(id)!);
}

/** The last `limit` recorded decisions (members of groups counted one by one), oldest first. */
export async function latestDecisions(
  source: DecisionSource,
  limit = MAX_WHAT_IF_DECISIONS,
): Promise<RecordedDecision[]> {
  const bounds = await streamBounds(source.jsm, EVENTS_STREAM);
  const fromSeq = Math.max(bounds.firstSeq, bounds.lastSeq - MAX_SCANNED + 1, 1);
  const all: RecordedDecision[] = [];
  await scan(source, fromSeq, (eventId, record, members) => {
    for (const member of members) {
      const id = member === null ? eventId : `${eventId}#${member}`;
      all.push(record(member)!(id));
    }
    if (all.length > limit * 4) all.splice(0, all.length - limit);
    return false;
  });
  return all.slice(-limit);
}

type Record_ = (member: number | null) => ((id: string) => RecordedDecision) | null;

/** Reads verified decision events from `fromSeq`; `visit` returns true to stop. */
async function scan(
  source: DecisionSource,
  fromSeq: number,
  visit: (eventId: string, record: Record_, members: (number | null)[]) => boolean,
): Promise<void> {
  let scanned = 0;
  for await (const entry of readHistory(source.js, source.jsm, EVENTS_STREAM, {
    fromSeq,
    filterSubject: `${eventSubject('decision', '*')}`,
  })) {
    if (++scanned > MAX_SCANNED) break;
    let verified;
    try {
      verified = verifyEnvelope(entry.bytes, source.trust, { natsSubject: entry.subject });
    } catch {
      continue; // a refused envelope is no record to re-evaluate
    }
    const { event } = verified;
    const of = (d: EventData<'policy.decided'>) => (id: string) => ({
      decisionId: id,
      input: d.input,
      decision: d.decision,
      ruleId: d.evidence.ruleId,
    });
    if (event.type === 'policy.decided') {
      const data = event.data as EventData<'policy.decided'>;
      if (visit(event.id, (m) => (m === null ? of(data) : null), [null])) return;
    } else if (event.type === 'policy.decisions.recorded') {
      const { decisions } = event.data as EventData<'policy.decisions.recorded'>;
      const record: Record_ = (m) => {
        const d = m === null ? undefined : decisions[m];
        return d ? of(d) : null;
      };
      if (
        visit(
          event.id,
          record,
          decisions.map((_d, i) => i),
        )
      )
        return;
    }
  }
}
