import {
  ValidationError,
  catalogue,
  decisionIdOf,
  eventSubject,
  newEventId,
  schemaProblems,
  signEventJson,
  type DraftEvent,
  type EventData,
  type Signer,
} from '@secai/contracts';
import {
  StreamError,
  TYPE_HEADER,
  headers,
  type EventStore,
  type JetStreamClient,
  SigningPool,
} from '@secai/streams';

/** The causation and correlation a decision's event must carry. */
export interface RecordLinks {
  causationId?: string;
  correlationId?: string;
}

/** Where a recorded decision is: the event that holds it and its own address in it. */
export interface RecordedDecisionAt {
  /** The `policy.decided`, or the `policy.decisions.recorded` group it was committed in. */
  eventId: string;
  /** `eventId` for a `policy.decided`, `<eventId>#<index>` for a group member. */
  decisionId: string;
}

/** Where decisions go before they are answered: the `decision/<domain>` aggregates. */
export interface DecisionRecorder {
  /**
   * Records the decision durably (the stream acknowledged the event holding it) and says where
   * it is; throws when it cannot, and then no answer but a deny may leave.
   */
  record(event: DraftEvent<'policy.decided'>, links?: RecordLinks): Promise<RecordedDecisionAt>;
}

/**
 * Records each decision alone as a `policy.decided` through the event store (signed on the
 * calling thread, one acknowledgement each). The simple recorder, for low rates and tests.
 * Decisions are a log, so no per-aggregate concurrency check applies.
 */
export function streamRecorder(store: EventStore): DecisionRecorder {
  return {
    async record(event, links = {}) {
      const { ids } = await store.append([event], { expectedSequence: 'any', ...links });
      return { eventId: ids[0]!, decisionId: ids[0]! };
    },
  };
}

/** Most members of one group (the `policy.decisions.recorded` schema's bound). */
export const MAX_GROUP_MEMBERS = 512;
/**
 * Most bytes of data (`{"decisions":[...]}` in UTF-8) in one group: the envelope (base64 of the
 * event, ≈ 4/3) then stays well under the 1 MiB envelope limit and the bus's 2 MiB `max_payload`.
 */
export const MAX_GROUP_DATA_BYTES = 512 * 1024;

export interface GroupCommitOptions {
  /** Groups of one lane (domain, causation, correlation) signed or published at once (default 2). */
  inFlight?: number;
  maxMembers?: number;
  maxDataBytes?: number;
  /** The group event's `time` (and the time in its id). */
  now?: () => Date;
}

interface Pending {
  data: EventData<'policy.decided'>;
  /** `JSON.stringify(data)`: what the group's data is assembled from, and its exact size. */
  json: string;
  bytes: number;
  resolve: (at: RecordedDecisionAt) => void;
  reject: (err: unknown) => void;
}

/** Decisions that may share an event: one domain, one causation, one correlation. */
interface Lane {
  key: string;
  domain: string;
  links: RecordLinks;
  waiting: Pending[];
  inFlight: number;
  scheduled: boolean;
}

/** What one group is signed as: its draft, and its data as JSON text. */
interface GroupDraft {
  draft: DraftEvent;
  dataJson: string;
}

type SignGroup = (
  group: GroupDraft,
  meta: { now: Date; id: string; causationId?: string; correlationId?: string },
) => Promise<{ natsSubject: string; bytes: Uint8Array }>;

/**
 * Group commit of decisions, the way a database commits many transactions with one flush:
 * decisions that arrive while the previous group of their lane is being signed and acknowledged
 * are recorded together as one `policy.decisions.recorded` (one signature, one publish, one
 * acknowledgement), each still addressed on its own as `<event id>#<index>`. A decision that
 * finds its lane idle goes out at once (at the end of the current event-loop turn, so requests
 * read in the same turn join it); there is no timer. A group of one is a plain `policy.decided`.
 *
 * The guarantee is unchanged: every member's promise resolves only once the stream acknowledged
 * the group's event, and when signing or publishing the group fails, every member is rejected
 * (the caller answers 503 / `ok: false`, a deny). Lanes are keyed by domain (the aggregate),
 * causation and correlation, since the group's envelope carries one of each.
 *
 * `signer`: a plain `Signer` signs on this thread, from each decision's JSON text made once
 * (`signEventJson`); a `SigningPool` signs on a worker thread (the drafts cross as a structured
 * clone, which costs this thread more than signing a group does: measured in the README).
 */
export function groupCommitRecorder(
  js: Pick<JetStreamClient, 'publish'>,
  signer: SigningPool | Signer,
  options: GroupCommitOptions = {},
): DecisionRecorder {
  const inFlightLimit = options.inFlight ?? 2;
  const maxMembers = Math.min(options.maxMembers ?? MAX_GROUP_MEMBERS, MAX_GROUP_MEMBERS);
  const maxBytes = options.maxDataBytes ?? MAX_GROUP_DATA_BYTES;
  const now = options.now ?? (() => new Date());
  const sign = signerOf(signer);
  const lanes = new Map<string, Lane>();

  const kick = (lane: Lane) => {
    if (lane.scheduled || lane.inFlight >= inFlightLimit || lane.waiting.length === 0) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      while (lane.inFlight < inFlightLimit && lane.waiting.length > 0) {
        lane.inFlight++;
        void commit(lane, take(lane.waiting, maxMembers, maxBytes)).finally(() => {
          lane.inFlight--;
          if (lane.inFlight === 0 && lane.waiting.length === 0 && !lane.scheduled)
            lanes.delete(lane.key);
          else kick(lane);
        });
      }
    });
  };

  const commit = async (lane: Lane, group: Pending[]): Promise<void> => {
    try {
      const at = now();
      const id = newEventId(at);
      const signed = await sign(groupDraft(lane.domain, group), { now: at, id, ...lane.links });
      const h = headers();
      h.set(TYPE_HEADER, group.length === 1 ? 'policy.decided' : 'policy.decisions.recorded');
      try {
        await js.publish(signed.natsSubject, signed.bytes, { msgID: id, headers: h });
      } catch (cause) {
        throw new StreamError('APPEND_FAILED', `publish of decision event ${id} failed`, {
          cause,
        });
      }
      if (group.length === 1) group[0]!.resolve({ eventId: id, decisionId: id });
      else group.forEach((p, i) => p.resolve({ eventId: id, decisionId: decisionIdOf(id, i) }));
    } catch (err) {
      for (const p of group) p.reject(err);
    }
  };

  return {
    record(event, links = {}) {
      // Checked alone, so that one invalid decision (a bug) cannot fail the others of its group;
      // the group event is then valid by construction (its members and their count).
      const problems = schemaProblems(catalogue['policy.decided'].schema, event.data);
      if (problems.length > 0)
        return Promise.reject(
          new ValidationError(`policy.decided data is invalid: ${problems.join('; ')}`, problems),
        );
      const key = `${event.aggregateId}\u0000${links.causationId ?? ''}\u0000${links.correlationId ?? ''}`;
      let lane = lanes.get(key);
      if (!lane) {
        lane = {
          key,
          domain: event.aggregateId,
          links: { ...links },
          waiting: [],
          inFlight: 0,
          scheduled: false,
        };
        lanes.set(key, lane);
      }
      const target = lane;
      const json = JSON.stringify(event.data);
      const bytes = Buffer.byteLength(json, 'utf8');
      return new Promise<RecordedDecisionAt>((resolve, reject) => {
        target.waiting.push({ data: event.data, json, bytes, resolve, reject });
        kick(target);
      });
    },
  };
}

/** `{"decisions":[` and `]}` around the members, and a comma between two. */
const GROUP_FRAME_BYTES = 17;

/** The next group: oldest first, at most `maxMembers` and `maxBytes` of data (at least one). */
function take(waiting: Pending[], maxMembers: number, maxBytes: number): Pending[] {
  let n = 0;
  let bytes = GROUP_FRAME_BYTES;
  while (n < waiting.length && n < maxMembers) {
    bytes += waiting[n]!.bytes + 1;
    if (n > 0 && bytes > maxBytes) break;
    n++;
  }
  return waiting.splice(0, n);
}

/**
 * A group of one is the `policy.decided` itself; more are one `policy.decisions.recorded`, whose
 * JSON is the members' own text joined (exactly what `JSON.stringify` of the group gives).
 */
function groupDraft(domain: string, group: Pending[]): GroupDraft {
  if (group.length === 1)
    return {
      draft: { type: 'policy.decided', aggregateId: domain, data: group[0]!.data },
      dataJson: group[0]!.json,
    };
  return {
    draft: {
      type: 'policy.decisions.recorded',
      aggregateId: domain,
      data: { decisions: group.map((p) => p.data) },
    },
    dataJson: `{"decisions":[${group.map((p) => p.json).join(',')}]}`,
  };
}

/** Signing on a pool thread, or on this thread with a plain signer. */
function signerOf(signer: SigningPool | Signer): SignGroup {
  if (signer instanceof SigningPool) {
    // The members were schema-checked one by one in `record`: skip the pool's second pass.
    return async ({ draft }, { id, ...meta }) => {
      const [signed] = await signer.signChecked([draft], { ...meta, ids: [id] });
      return signed!;
    };
  }
  return ({ draft, dataJson }, meta) => {
    const bytes = signEventJson(
      { type: draft.type, aggregateId: draft.aggregateId, dataJson },
      signer,
      meta,
    );
    const natsSubject = eventSubject(catalogue[draft.type].aggregate, draft.aggregateId);
    return Promise.resolve({ natsSubject, bytes });
  };
}
