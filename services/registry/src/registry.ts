import {
  ConcurrencyError,
  type DraftEvent,
  type EventData,
  type VerifiedEvent,
} from '@secai/contracts';
import type { EventStore, Logger } from '@secai/streams';
import {
  decide,
  evolve,
  fileNameOf,
  hexOf,
  initialState,
  isModelEventType,
  locationOf,
  promotionSettled,
  verificationTarget,
  type Decision,
  type Effect,
  type Location,
  type ModelEvent,
  type ModelState,
  type Observation,
  type RemovalCause,
  type Trigger,
} from './decider.js';
import { KeyedMutex } from '@secai/streams';
import type { ModelStore } from './store.js';

const NOT_CHECKED: Observation = { kind: 'not_checked' };
const MAX_ATTEMPTS = 3;

export interface RegistryDeps {
  events: EventStore;
  models: ModelStore;
  log: Logger;
}

export interface Metadata {
  causationId?: string | undefined;
  correlationId?: string | undefined;
}

export interface VerifyOptions extends Metadata {
  trigger: Trigger;
  onProgress?: (bytesDone: number, totalBytes: number) => void;
}

export interface VerificationOutcome {
  /** `unknown`: not in the registry (never stored, or removed meanwhile). */
  outcome: 'verified' | 'failed' | 'unknown';
  decision: Decision;
  /** The recorded `model.verified` / `model.verification.failed`, with its id. */
  event: ModelEvent | null;
  eventId: string | null;
}

export interface ContainOutcome {
  decision: Decision;
  /** Relative to the containment area; null when the model is unknown. */
  containedPath: string | null;
  alreadyContained: boolean;
}

export interface RemoveOutcome {
  decision: Decision;
  removed: boolean;
}

function toModelEvent(e: VerifiedEvent, aggregateId: string): ModelEvent | null {
  if (!isModelEventType(e.event.type)) return null;
  return {
    type: e.event.type,
    aggregateId,
    data: e.event.data,
    causationId: e.event.causationid ?? null,
  } as ModelEvent;
}

function toDraft(e: ModelEvent): DraftEvent {
  return { type: e.type, aggregateId: e.aggregateId, data: e.data };
}

/**
 * The registry's edge: loads a model aggregate, observes the disk, asks the decider, performs the
 * file operation, then appends the events with the aggregate's expected sequence. One model is
 * handled by one section at a time in this process; a conflict with another writer re-reads and
 * re-decides (the observation is made again, so a retry never repeats a move blindly).
 */
export class Registry {
  readonly #events: EventStore;
  readonly #models: ModelStore;
  readonly #log: Logger;
  readonly #mutex = new KeyedMutex();

  constructor(deps: RegistryDeps) {
    this.#events = deps.events;
    this.#models = deps.models;
    this.#log = deps.log;
  }

  get models(): ModelStore {
    return this.#models;
  }

  /** The model aggregate's state, folded from its events. */
  async load(hex: string): Promise<{ state: ModelState; lastSequence: number }> {
    const { events, lastSequence } = await this.#events.load('model', hex);
    let state = initialState();
    for (const e of events) {
      const event = toModelEvent(e, hex);
      if (event) state = evolve(state, event);
    }
    return { state, lastSequence };
  }

  async #transact<T>(
    hex: string,
    section: (state: ModelState, lastSequence: number) => Promise<T>,
  ): Promise<T> {
    return this.#mutex.run(hex, async () => {
      for (let attempt = 1; ; attempt++) {
        const { state, lastSequence } = await this.load(hex);
        try {
          return await section(state, lastSequence);
        } catch (err) {
          if (!(err instanceof ConcurrencyError) || attempt >= MAX_ATTEMPTS) throw err;
          this.#log.warn({ model: hex, attempt }, 'model aggregate moved on; deciding again');
        }
      }
    });
  }

  async #append(
    events: readonly ModelEvent[],
    lastSequence: number,
    meta: Metadata,
  ): Promise<string[]> {
    if (events.length === 0) return [];
    const causation = events[0]!.causationId;
    const result = await this.#events.append(events.map(toDraft), {
      expectedSequence: lastSequence,
      ...(causation !== null ? { causationId: causation } : {}),
      ...(meta.correlationId !== undefined ? { correlationId: meta.correlationId } : {}),
    });
    return result.ids;
  }

  async #perform(effect: Effect, hex: string, fileName: string): Promise<void> {
    switch (effect.kind) {
      case 'none':
        return;
      case 'publish':
        await this.#models.publish(hex, fileName);
        return;
      case 'return_incoming': {
        const where = await this.#models.returnIncoming(hex);
        if (where) this.#log.warn({ model: hex, where }, 'left the unmatched artifact');
        return;
      }
      case 'move_to_containment':
        await this.#models.contain(hex);
        return;
      case 'delete':
        await this.#models.remove(hex, effect);
        return;
    }
  }

  /**
   * A `model.promoted`: takes the quarantine's copy into custody, re-hashes it, publishes it into
   * the store and records `model.stored` (causation: the promoted event). Settled promotions
   * (redelivered, already stored, contained) touch nothing. A copy that does not match is not
   * stored: it goes back to the quarantine area and the refusal is logged (there is no model
   * aggregate to record it on; the artifact aggregate belongs to the quarantine).
   */
  async handlePromoted(verified: VerifiedEvent): Promise<Decision> {
    const promoted = verified.event.data as EventData<'model.promoted'>;
    const base = {
      promotedId: verified.event.id,
      artifactId: verified.aggregate.id,
      promoted,
    };
    const hex = hexOf(promoted.digest);
    const log = { model: hex, artifact: base.artifactId, promoted: base.promotedId };
    if (hex !== base.artifactId) {
      const decision = decide(
        { type: 'store_promoted', ...base, inStore: NOT_CHECKED, incoming: NOT_CHECKED },
        initialState(),
      );
      this.#log.error({ ...log, reason: decision.reason }, 'promotion refused');
      return decision;
    }
    return this.#transact(hex, async (state, lastSequence) => {
      let inStore = NOT_CHECKED;
      let incoming = NOT_CHECKED;
      if (!promotionSettled(state, base)) {
        inStore = await this.#models.observeAt('store', hex, promoted.fileName);
        if (inStore.kind === 'absent')
          incoming = await this.#models.takeCustody(hex, promoted.fileName);
      }
      const decision = decide({ type: 'store_promoted', ...base, inStore, incoming }, state);
      await this.#perform(decision.effect, hex, promoted.fileName);
      await this.#append(decision.events, lastSequence, {
        correlationId: verified.event.correlationid,
      });
      if (decision.refused)
        this.#log.error(
          { ...log, reason: decision.reason, inStore, incoming },
          'promoted artifact not stored',
        );
      else this.#log.info({ ...log, reason: decision.reason }, 'promotion handled');
      return decision;
    });
  }

  /** Whether `hex` can be verified now, and how many bytes that reads. */
  async verificationTarget(
    hex: string,
  ): Promise<{ ok: true; location: Location; sizeBytes: number } | { ok: false; code: string }> {
    return verificationTarget((await this.load(hex)).state);
  }

  /**
   * Re-hashes a stored model where its bytes are (store, or containment once contained) and
   * records `model.verified` or `model.verification.failed`. Hashing runs outside the model's
   * section, so a containment is never delayed by a long verification; if the model moved while
   * it was hashed, it is hashed again where it now is.
   */
  async verify(hex: string, options: VerifyOptions): Promise<VerificationOutcome> {
    const { state } = await this.load(hex);
    let location = locationOf(state);
    const fileName = state.model ? fileNameOf(state.model) : null;
    for (let attempt = 1; location && fileName; attempt++) {
      const observed = await this.#models.observeAt(location, hex, fileName, {
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      const result = await this.#transact(hex, async (current, lastSequence) => {
        const decision = decide(
          {
            type: 'record_verification',
            trigger: options.trigger,
            location: location!,
            observed,
            causationId: options.causationId ?? null,
          },
          current,
        );
        const ids = await this.#append(decision.events, lastSequence, options);
        return { decision, eventId: ids[0] ?? null, now: locationOf(current) };
      });
      if (result.decision.reason === 'stale_observation' && attempt < MAX_ATTEMPTS) {
        location = result.now;
        continue;
      }
      const event = result.decision.events[0] ?? null;
      const outcome = event?.type === 'model.verified' ? 'verified' : event ? 'failed' : 'unknown';
      const level = outcome === 'failed' ? 'error' : 'info';
      this.#log[level](
        { model: hex, trigger: options.trigger, outcome, reason: result.decision.reason },
        'model verification',
      );
      return { outcome, decision: result.decision, event, eventId: result.eventId };
    }
    return {
      outcome: 'unknown',
      decision: decide(
        {
          type: 'record_verification',
          trigger: options.trigger,
          location: 'store',
          observed: { kind: 'absent' },
          causationId: null,
        },
        state,
      ),
      event: null,
      eventId: null,
    };
  }

  /** Moves a model out of the serving store into containment and records `model.contained`. */
  async contain(
    hex: string,
    request: { cause: RemovalCause; reason: string } & Metadata,
  ): Promise<ContainOutcome> {
    return this.#transact(hex, async (state, lastSequence) => {
      const presence = await this.#models.presence(hex);
      const decision = decide(
        {
          type: 'contain',
          cause: request.cause,
          reason: request.reason,
          presence,
          causationId: request.causationId ?? null,
        },
        state,
      );
      await this.#perform(decision.effect, hex, '');
      await this.#append(decision.events, lastSequence, request);
      const event = decision.events[0];
      const containedPath =
        event?.type === 'model.contained' ? event.data.containedPath : state.containedPath;
      this.#log[decision.refused ? 'warn' : 'info'](
        { model: hex, reason: decision.reason, cause: request.cause },
        'containment',
      );
      return {
        decision,
        containedPath,
        alreadyContained: decision.reason === 'already_contained',
      };
    });
  }

  /** Deletes a model's bytes (store or containment) and records `model.removed`. */
  async remove(
    hex: string,
    request: { cause: RemovalCause; reason: string } & Metadata,
  ): Promise<RemoveOutcome> {
    return this.#transact(hex, async (state, lastSequence) => {
      const presence = await this.#models.presence(hex);
      const decision = decide(
        {
          type: 'remove',
          cause: request.cause,
          reason: request.reason,
          presence,
          causationId: request.causationId ?? null,
        },
        state,
      );
      await this.#perform(decision.effect, hex, '');
      await this.#append(decision.events, lastSequence, request);
      this.#log[decision.refused ? 'warn' : 'info'](
        { model: hex, reason: decision.reason, cause: request.cause },
        'removal',
      );
      return { decision, removed: decision.events.length > 0 };
    });
  }
}
