import { EnvelopeError, eventSubject, verifyEnvelope, type EventData } from '@secai/contracts';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { EventStore } from './eventStore.js';
import { readHistory } from './history.js';
import type { Logger } from './logger.js';

/** Where the policy engine records which policy is active (`policy/active`). */
export const ACTIVE_POLICY = { type: 'policy', id: 'active' } as const;

export type LoadedPolicy = EventData<'policy.loaded'>;

/**
 * The engine's active policy as the bus records it: the latest verified `policy.loaded` on
 * `secai.evt.policy.active`, unless a later `policy.load.failed` says no policy is active (a
 * failed first load after a restart) or names another one (fail closed: null). The quarantine
 * (and inference, and the GPU watch) bind to this, never to the engine's files, so the policy a run cites is the one the
 * engine decides with.
 */
export function foldActivePolicy(
  active: LoadedPolicy | null,
  event: { type: string; data: unknown },
): LoadedPolicy | null {
  if (event.type === 'policy.loaded') return event.data as LoadedPolicy;
  if (event.type === 'policy.load.failed') {
    const kept = (event.data as EventData<'policy.load.failed'>).activeDigest;
    return kept !== null && active?.digest === kept ? active : null;
  }
  return active;
}

/**
 * Reads the `policy/active` aggregate on demand, incrementally: asking costs one last-message
 * lookup when nothing changed, and reads only the new events otherwise. Asked right before each
 * decision that depends on it (a run's start, each stage), so it is never behind an event the
 * engine recorded before it answered.
 */
export class ActivePolicyReader {
  #seq = 0;
  #active: LoadedPolicy | null = null;
  #reading: Promise<LoadedPolicy | null> = Promise.resolve(null);

  constructor(
    private readonly deps: {
      js: JetStreamClient;
      jsm: JetStreamManager;
      store: EventStore;
      log: Logger;
    },
  ) {}

  /** The active policy as of now (null: none). Calls are serialised. */
  current(): Promise<LoadedPolicy | null> {
    this.#reading = this.#reading.catch(() => null).then(() => this.#catchUp());
    return this.#reading;
  }

  async #catchUp(): Promise<LoadedPolicy | null> {
    const { js, jsm, store, log } = this.deps;
    const last = await store.lastSequence(ACTIVE_POLICY.type, ACTIVE_POLICY.id);
    if (last <= this.#seq) return this.#active;
    const subject = eventSubject(ACTIVE_POLICY.type, ACTIVE_POLICY.id);
    let active = this.#active;
    for await (const entry of readHistory(js, jsm, store.stream, {
      fromSeq: this.#seq + 1,
      toSeq: last,
      filterSubject: subject,
    })) {
      try {
        const { event } = verifyEnvelope(entry.bytes, store.trust, {
          natsSubject: entry.subject,
          streamSeq: entry.seq,
        });
        active = foldActivePolicy(active, event);
      } catch (err) {
        if (!(err instanceof EnvelopeError)) throw err;
        // Not the engine's word: it neither sets nor clears the policy.
        log.warn({ seq: entry.seq, code: err.code }, 'refused an envelope on policy/active');
      }
    }
    this.#active = active;
    this.#seq = last;
    return active;
  }
}
