import { EnvelopeError, verifyEnvelope, type VerifiedEvent } from '@secai/contracts';
import {
  CommandHandler,
  readHistory,
  type CommandMetadata,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import {
  incidentDecider,
  type IncidentCommand,
  type IncidentDecision,
  type IncidentDraft,
  type RefusalCode,
} from './decider.js';
import {
  initialIncident,
  isActive,
  isIncidentEventType,
  replayIncident,
  type IncidentEvent,
  type IncidentSnapshot,
} from './machine.js';

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

export interface HandledIncident {
  decision: IncidentDecision;
  /** The incident after the step (as it was decided on when nothing was appended). */
  record: IncidentRecord;
  /** The events appended, as stored. */
  appended: IncidentEvent[];
}

/** A command, or one made for the snapshot it is decided on (made again after a conflict). */
export type IncidentCommandFor =
  IncidentCommand | ((snapshot: IncidentSnapshot) => IncidentCommand);

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
 * events) and kept current by this process, the only writer of `incident/*`. Each change goes
 * through the command kernel (`CommandHandler`): decide on the cached snapshot, append with the
 * incident's expected sequence, read the stored events back and apply them; a conflict (another
 * writer) reloads the incident from the stream and decides again. Also the correlation index:
 * the active incident of each class and subject.
 */
export class IncidentBook {
  readonly #conn: RecorderConnection;
  readonly #log: Logger;
  readonly #records = new Map<string, IncidentRecord>();
  readonly #active = new Map<string, string>();
  readonly #listeners: ((id: string, appended: IncidentEvent[]) => void)[] = [];
  readonly #handler: CommandHandler<
    IncidentCommand,
    IncidentDraft,
    IncidentSnapshot,
    never,
    IncidentEvent,
    RefusalCode
  >;

  constructor(conn: RecorderConnection, log: Logger) {
    this.#conn = conn;
    this.#log = log;
    this.#handler = new CommandHandler({
      store: conn.store,
      aggregateType: 'incident',
      decider: incidentDecider,
      fromStored: (loaded) => toIncidentEvent(loaded, loaded.seq),
      toDraft: (draft) => draft,
      // The machine keeps the stored ids, sequences and times (a ceremony is bound to them).
      readBack: true,
      log,
    });
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
    // Not cached here: only a section (`handle`) updates the book, so a reader can never put
    // an older snapshot back over a newer one.
    return { record: { ...this.#replay(id, list), lastSequence }, events: list };
  }

  /**
   * Decides `command` on the incident and appends what was decided (`CommandHandler`), then
   * updates the book and tells the listeners what was stored.
   */
  async handle(
    id: string,
    command: IncidentCommandFor,
    meta: CommandMetadata = {},
  ): Promise<HandledIncident> {
    // The cache is read (as the handler's `known` state) and written in the kernel's one
    // section per incident, so no command decides on a snapshot that another is about to replace.
    return this.#handler.exclusive(id, async (locked) => {
      // An incident this process has not seen has no events: the book holds every incident.
      const known = this.#records.get(id) ?? {
        snapshot: initialIncident(),
        lastSequence: 0,
        anomalies: 0,
      };
      const result = await locked.handle(command, {
        meta,
        known: { state: known.snapshot, lastSequence: known.lastSequence },
      });
      let record: IncidentRecord;
      if (result.attempts > 1) {
        // Another writer moved the incident: take it all from the stream again, anomalies
        // included (its events are not ours to have checked).
        record = (await this.load(id)).record;
        this.#store(id, record);
      } else if (result.appended) {
        const { snapshot, ignored } = replayIncident(result.recorded, known.snapshot);
        for (const e of ignored)
          this.#log.error(
            { incident: id, seq: e.seq, type: e.type },
            'the incident machine refused its own event',
          );
        record = {
          snapshot,
          lastSequence: result.lastSequence,
          anomalies: known.anomalies + ignored.length,
        };
        this.#store(id, record);
      } else {
        record = known;
      }
      if (result.appended) for (const listener of this.#listeners) listener(id, result.recorded);
      return { decision: result.decision, record, appended: result.recorded };
    });
  }
}
