import {
  ConcurrencyError,
  EnvelopeError,
  verifyEnvelope,
  type VerifiedEvent,
} from '@secai/contracts';
import {
  readHistory,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import type { Decision } from './decider.js';
import {
  applyEvent,
  initialIncident,
  isActive,
  isIncidentEventType,
  replayIncident,
  type IncidentEvent,
  type IncidentSnapshot,
} from './machine.js';
import { KeyedMutex } from '@secai/streams';

/** One identity connected to the bus (a `ServiceRuntime`, or a test appliance's client). */
export interface RecorderConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `incident-recorder`; its trust store verifies everything read. */
  store: EventStore;
}

export interface IncidentRecord {
  snapshot: IncidentSnapshot;
  /** Stream sequence of the incident's last event (its expected sequence on the next append). */
  lastSequence: number;
  /** Stored events the machine refused (a history anomaly, logged). */
  anomalies: number;
}

export interface TransactResult {
  decision: Decision;
  record: IncidentRecord;
  /** The events appended, as stored. */
  appended: IncidentEvent[];
}

const MAX_ATTEMPTS = 3;
export const INCIDENT_FILTER = 'secai.evt.incident.>';

/** An incident event from a verified envelope (null for any other type). */
export function toIncidentEvent(v: VerifiedEvent, seq: number): IncidentEvent | null {
  if (!isIncidentEventType(v.event.type)) return null;
  return {
    type: v.event.type,
    data: v.event.data,
    id: v.event.id,
    seq,
    time: v.event.time,
  } as IncidentEvent;
}

const activeKey = (cls: string, subject: string) => `${cls}|${subject}`;

/**
 * Every incident, rebuilt from the stream at start (the machine replayed over each incident's
 * events) and kept current by this process, the only writer of `incident/*`. Each change runs
 * in one section per incident: decide on the snapshot, append with the incident's expected
 * sequence, read the stored events back and apply them. A conflict (another writer) reloads the
 * incident from the stream and decides again. Also the correlation index: the active incident
 * of each class and subject.
 */
export class IncidentBook {
  readonly #conn: RecorderConnection;
  readonly #log: Logger;
  readonly #records = new Map<string, IncidentRecord>();
  readonly #active = new Map<string, string>();
  readonly #mutex = new KeyedMutex();
  readonly #listeners: ((id: string, appended: IncidentEvent[]) => void)[] = [];

  constructor(conn: RecorderConnection, log: Logger) {
    this.#conn = conn;
    this.#log = log;
  }

  /** Called after every append with the events as stored. */
  onAppended(listener: (id: string, appended: IncidentEvent[]) => void): void {
    this.#listeners.push(listener);
  }

  get size(): number {
    return this.#records.size;
  }

  get(id: string): IncidentRecord | undefined {
    return this.#records.get(id);
  }

  all(): [string, IncidentRecord][] {
    return [...this.#records.entries()];
  }

  /** The incident that observations of this class and subject attach to, if one is active. */
  activeFor(cls: string, subject: string): string | undefined {
    return this.#active.get(activeKey(cls, subject));
  }

  anomalies(): number {
    let n = 0;
    for (const r of this.#records.values()) n += r.anomalies;
    return n;
  }

  #index(id: string, record: IncidentRecord): void {
    const ctx = record.snapshot.context;
    if (ctx.class === null) return;
    const key = activeKey(ctx.class, ctx.subject);
    if (isActive(record.snapshot)) {
      const current = this.#active.get(key);
      // Two active incidents for one key only if an older one was left open: keep the newest.
      if (
        !current ||
        (this.#records.get(current)?.snapshot.context.openedSeq ?? 0) <= ctx.openedSeq
      )
        this.#active.set(key, id);
    } else if (this.#active.get(key) === id) {
      this.#active.delete(key);
    }
  }

  #store(id: string, record: IncidentRecord): void {
    this.#records.set(id, record);
    this.#index(id, record);
  }

  /** Reads every incident event of the stream and replays each incident. */
  async rebuild(): Promise<void> {
    const byId = new Map<string, IncidentEvent[]>();
    let refused = 0;
    for await (const entry of readHistory(this.#conn.js, this.#conn.jsm, this.#conn.store.stream, {
      filterSubject: INCIDENT_FILTER,
    })) {
      let verified: VerifiedEvent;
      try {
        verified = verifyEnvelope(entry.bytes, this.#conn.store.trust, {
          natsSubject: entry.subject,
          streamSeq: entry.seq,
        });
      } catch (err) {
        if (!(err instanceof EnvelopeError)) throw err;
        // A forged or altered incident event is never applied; `secai events verify` names it.
        refused++;
        this.#log.error(
          { seq: entry.seq, code: err.code },
          'refused an incident event in the stream',
        );
        continue;
      }
      const event = toIncidentEvent(verified, entry.seq);
      if (!event) continue;
      const id = verified.aggregate.id;
      byId.set(id, [...(byId.get(id) ?? []), event]);
    }
    this.#records.clear();
    this.#active.clear();
    for (const [id, events] of byId) this.#store(id, this.#replay(id, events));
    this.#log.info({ incidents: byId.size, refused }, 'incidents rebuilt from the stream');
  }

  #replay(id: string, events: IncidentEvent[]): IncidentRecord {
    const { snapshot, ignored } = replayIncident(events);
    for (const e of ignored)
      this.#log.error(
        { incident: id, seq: e.seq, type: e.type },
        'the incident machine refused a stored event',
      );
    return {
      snapshot,
      lastSequence: events.at(-1)?.seq ?? 0,
      anomalies: ignored.length,
    };
  }

  /** One incident, read and replayed from the stream now (refused envelopes throw: fail closed). */
  async load(id: string): Promise<{ record: IncidentRecord; events: IncidentEvent[] }> {
    const { events, lastSequence } = await this.#conn.store.load('incident', id);
    const list = events.map((e) => toIncidentEvent(e, e.seq)).filter((e) => e !== null);
    // Not cached here: only a section (`transact`) updates the book, so a reader can never put
    // an older snapshot back over a newer one.
    return { record: { ...this.#replay(id, list), lastSequence }, events: list };
  }

  /**
   * Decides on the incident's snapshot and appends what was decided, in the incident's section.
   * `decide` may be called again after a conflict, on the reloaded incident.
   */
  async transact(
    id: string,
    decide: (snapshot: IncidentSnapshot) => Decision,
    meta: { causationId?: string | undefined; correlationId?: string | undefined } = {},
  ): Promise<TransactResult> {
    return this.#mutex.run(id, async () => {
      let record = this.#records.get(id) ?? {
        snapshot: initialIncident(),
        lastSequence: 0,
        anomalies: 0,
      };
      for (let attempt = 1; ; attempt++) {
        const decision = decide(record.snapshot);
        if (decision.events.length === 0) return { decision, record, appended: [] };
        let sequences: number[];
        try {
          ({ sequences } = await this.#conn.store.append(decision.events, {
            expectedSequence: record.lastSequence,
            ...(meta.causationId !== undefined ? { causationId: meta.causationId } : {}),
            ...(meta.correlationId !== undefined ? { correlationId: meta.correlationId } : {}),
          }));
        } catch (err) {
          if (!(err instanceof ConcurrencyError) || attempt >= MAX_ATTEMPTS) throw err;
          this.#log.warn({ incident: id, attempt }, 'incident moved on; deciding again');
          record = (await this.load(id)).record;
          continue;
        }
        const appended = await this.#readBack(sequences);
        let snapshot = record.snapshot;
        let anomalies = record.anomalies;
        for (const e of appended) {
          const step = applyEvent(snapshot, e);
          snapshot = step.snapshot;
          if (!step.accepted) {
            anomalies++;
            this.#log.error(
              { incident: id, seq: e.seq, type: e.type },
              'the incident machine refused its own event',
            );
          }
        }
        record = { snapshot, lastSequence: sequences.at(-1)!, anomalies };
        this.#store(id, record);
        for (const listener of this.#listeners) listener(id, appended);
        return { decision, record, appended };
      }
    });
  }

  /** The events just appended, exactly as stored (their ids and times are the edge's). */
  async #readBack(sequences: number[]): Promise<IncidentEvent[]> {
    const out: IncidentEvent[] = [];
    for (const seq of sequences) {
      const m = await this.#conn.jsm.streams.getMessage(this.#conn.store.stream, { seq });
      if (!m) throw new Error(`stored incident event at seq ${seq} cannot be read back`);
      const verified = verifyEnvelope(m.data, this.#conn.store.trust, {
        natsSubject: m.subject,
        streamSeq: seq,
      });
      const event = toIncidentEvent(verified, seq);
      if (event) out.push(event);
    }
    return out;
  }
}
