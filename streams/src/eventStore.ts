import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import {
  ConcurrencyError,
  ValidationError,
  catalogue,
  schemaProblems,
  eventSubject,
  signEvent,
  verifyEnvelope,
  type DraftEvent,
  type EventType,
  type Signer,
  type TrustStore,
  type VerifiedEvent,
} from '@secai/contracts';
import { EVENTS_STREAM } from './definitions.js';
import { StreamError } from './errors.js';

/** Header carrying the event type, so consumers can skip what they don't handle unread. */
export const TYPE_HEADER = 'Secai-Type';

const WRONG_LAST_SEQUENCE = 10071;

/**
 * Expected last stream sequence of the aggregate's subject: `0` = the aggregate must not exist
 * yet; `'any'` = no concurrency check (logs such as the `service/<name>` aggregates).
 */
export type ExpectedSequence = number | 'any';

export interface AppendOptions {
  expectedSequence: ExpectedSequence;
  correlationId?: string;
  causationId?: string;
}

export interface AppendResult {
  /** Stream sequence of each appended event, in order. */
  sequences: number[];
  /** Id of each appended event, in order. */
  ids: string[];
  lastSequence: number;
  /** Events the server absorbed as duplicates of an earlier publish with the same id. */
  duplicates: number;
}

export interface LoadedEvent extends VerifiedEvent {
  seq: number;
}

export interface EventStoreOptions {
  stream?: string;
  signer: Signer;
  trust: TrustStore;
  now?: () => Date;
}

/**
 * The event store client (ARCHITECTURE §3.2). Every append is signed by this process's own
 * identity, uses the event id as `Nats-Msg-Id` (duplicates inside the window are absorbed) and
 * the aggregate's expected last subject sequence (a conflict is a `ConcurrencyError`: re-read,
 * re-decide, retry).
 */
export class EventStore {
  readonly stream: string;
  readonly signer: Signer;
  readonly trust: TrustStore;
  readonly #now: () => Date;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    options: EventStoreOptions,
  ) {
    this.stream = options.stream ?? EVENTS_STREAM;
    this.signer = options.signer;
    this.trust = options.trust;
    this.#now = options.now ?? (() => new Date());
  }

  /** Appends events of one aggregate, in order. */
  async append(drafts: readonly DraftEvent[], options: AppendOptions): Promise<AppendResult> {
    if (drafts.length === 0) return { sequences: [], ids: [], lastSequence: 0, duplicates: 0 };
    const first = drafts[0]!;
    let expected = options.expectedSequence;
    const sequences: number[] = [];
    const ids: string[] = [];
    let duplicates = 0;
    let previousId: string | undefined;
    for (const draft of drafts) {
      if (draft.aggregateId !== first.aggregateId) {
        throw new StreamError('APPEND_FAILED', 'one append carries the events of one aggregate');
      }
      // Refuse to publish what every consumer would refuse: an invalid event is a bug here.
      const problems = schemaProblems(catalogue[draft.type].schema, draft.data);
      if (problems.length > 0) {
        throw new ValidationError(
          `${draft.type} data is invalid: ${problems.join('; ')}`,
          problems,
        );
      }
      const meta: { now: Date; correlationId?: string; causationId?: string } = {
        now: this.#now(),
      };
      if (options.correlationId !== undefined) meta.correlationId = options.correlationId;
      const causation = previousId ?? options.causationId;
      if (causation !== undefined) meta.causationId = causation;
      const { event, bytes } = signEvent(draft, this.signer, meta);
      const [aggregateType, aggregateId] = splitAggregate(event.subject);
      const h = headers();
      h.set(TYPE_HEADER, event.type);
      try {
        const ack = await this.js.publish(eventSubject(aggregateType, aggregateId), bytes, {
          msgID: event.id,
          headers: h,
          ...(expected === 'any' ? {} : { expect: { lastSubjectSequence: expected } }),
        });
        sequences.push(ack.seq);
        ids.push(event.id);
        if (ack.duplicate) duplicates++;
        if (expected !== 'any') expected = ack.seq;
        previousId = event.id;
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) {
          throw new ConcurrencyError(
            typeof expected === 'number' ? expected : -1,
            `${event.subject} moved past sequence ${String(expected)}`,
            { cause: err },
          );
        }
        throw new StreamError(
          'APPEND_FAILED',
          `append of ${event.type} to ${event.subject} failed`,
          { cause: err },
        );
      }
    }
    return { sequences, ids, lastSequence: sequences[sequences.length - 1]!, duplicates };
  }

  /** Last stream sequence of an aggregate (0 when it has no events). */
  async lastSequence(aggregateType: string, aggregateId: string): Promise<number> {
    try {
      const msg = await this.jsm.streams.getMessage(this.stream, {
        last_by_subj: eventSubject(aggregateType, aggregateId),
      });
      return msg?.seq ?? 0;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === 10037) return 0;
      throw err;
    }
  }

  /**
   * Reads and verifies every event of one aggregate. A refused envelope in one's own history
   * throws (fail closed): deciding on a partial history could undo a containment.
   */
  async load(
    aggregateType: string,
    aggregateId: string,
  ): Promise<{ events: LoadedEvent[]; lastSequence: number }> {
    const lastSequence = await this.lastSequence(aggregateType, aggregateId);
    const events: LoadedEvent[] = [];
    if (lastSequence === 0) return { events, lastSequence };
    const subject = eventSubject(aggregateType, aggregateId);
    const consumer = await this.js.consumers.get(this.stream, { filter_subjects: subject });
    try {
      let seq = 0;
      while (seq < lastSequence) {
        const batch = await consumer.fetch({ max_messages: 256, expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          seq = m.seq;
          events.push({ ...this.verifyMessage(m), seq: m.seq });
          if (seq >= lastSequence) break;
        }
        if (got === 0)
          throw new StreamError('APPEND_FAILED', `could not read ${subject} up to ${lastSequence}`);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return { events, lastSequence };
  }

  /**
   * The event stored at stream sequence `seq`, verified (a refused envelope throws, as in
   * `load`): how a writer reads back what it appended, with the id, time and sequence stored.
   */
  async loadAt(seq: number): Promise<LoadedEvent> {
    const m = await this.jsm.streams.getMessage(this.stream, { seq });
    if (!m) throw new StreamError('APPEND_FAILED', `no event is stored at sequence ${seq}`);
    const verified = verifyEnvelope(m.data, this.trust, { natsSubject: m.subject, streamSeq: seq });
    return { ...verified, seq };
  }

  /**
   * Verifies a delivered message at its place: sequence, the subject it was stored on, and the
   * type header it carries (a header that names another type than the signed one is refused).
   */
  verifyMessage(m: JsMsg): VerifiedEvent {
    const typeHeader = m.headers?.get(TYPE_HEADER);
    return verifyEnvelope(m.data, this.trust, {
      natsSubject: m.subject,
      streamSeq: m.seq,
      ...(typeHeader ? { typeHeader } : {}),
    });
  }

  /** Appends on the process's own `service/<name>` aggregate (no concurrency check: a log). */
  async appendServiceEvent<T extends EventType>(draft: DraftEvent<T>): Promise<AppendResult> {
    return this.append([draft], { expectedSequence: 'any' });
  }
}

function splitAggregate(subject: string): [string, string] {
  const slash = subject.indexOf('/');
  return [subject.slice(0, slash), subject.slice(slash + 1)];
}
