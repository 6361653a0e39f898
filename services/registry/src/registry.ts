import type {
  Decision as KernelDecision,
  DraftEvent,
  EventData,
  VerifiedEvent,
} from '@secai/contracts';
import {
  CommandHandler,
  MAX_COMMAND_ATTEMPTS,
  type CommandMetadata,
  type EventStore,
  type Logger,
} from '@secai/streams';
import {
  decide,
  fileNameOf,
  hexOf,
  initialState,
  isModelEventType,
  locationOf,
  promotionSettled,
  registryDecider,
  verificationTarget,
  type Decision,
  type Effect,
  type Location,
  type ModelEvent,
  type ModelState,
  type Observation,
  type RegistryCommand,
  type RefusalCode,
  type RemovalCause,
  type Trigger,
} from './decider.js';
import type { ModelStore } from './store.js';

const NOT_CHECKED: Observation = { kind: 'not_checked' };

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

/** Causation of the appended events (the event or request the decider names), and correlation. */
function metaOf(
  decision: KernelDecision<ModelEvent, Effect>,
  correlationId: string | undefined,
): CommandMetadata {
  return { causationId: decision.events[0]?.causationId ?? undefined, correlationId };
}

/** The decision's stable word for logs: the refusal code, or what happened. */
function reasonOf(decision: Decision): string | undefined {
  return decision.refusal?.code ?? decision.outcome;
}

type RemovalRequest = { cause: RemovalCause; reason: string } & Metadata;

/**
 * The registry's edge, on the streams `CommandHandler`: loads a model aggregate, observes the disk
 * (the command is a function of the state), asks the decider, performs the file operation, then
 * appends the events with the aggregate's expected sequence. One model is handled by one section
 * at a time in this process; a conflict with another writer reloads and decides again (the
 * observation is made again, so a retry never repeats a move blindly).
 */
export class Registry {
  readonly #models: ModelStore;
  readonly #log: Logger;
  readonly #commands: CommandHandler<
    RegistryCommand,
    ModelEvent,
    ModelState,
    Effect,
    ModelEvent,
    RefusalCode
  >;

  constructor(deps: RegistryDeps) {
    this.#models = deps.models;
    this.#log = deps.log;
    this.#commands = new CommandHandler({
      store: deps.events,
      aggregateType: 'model',
      decider: registryDecider,
      fromStored: (loaded) => toModelEvent(loaded, loaded.aggregate.id),
      toDraft,
      log: deps.log,
    });
  }

  get models(): ModelStore {
    return this.#models;
  }

  /**
   * One command through the kernel. The kernel's `Decider` does not carry the refusal code type;
   * `registryDecider` refuses only with a `RefusalCode`, which the decision is typed back to here.
   */
  /** The model aggregate's state, folded from its events. */
  async load(hex: string): Promise<{ state: ModelState; lastSequence: number }> {
    return this.#commands.load(hex);
  }

  async #perform(
    decision: KernelDecision<ModelEvent, Effect>,
    hex: string,
    fileName: string,
  ): Promise<void> {
    for (const effect of decision.effects ?? []) await this.#performOne(effect, hex, fileName);
  }

  async #performOne(effect: Effect, hex: string, fileName: string): Promise<void> {
    switch (effect.kind) {
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
      this.#log.error({ ...log, reason: reasonOf(decision) }, 'promotion refused');
      return decision;
    }
    const observed: { inStore: Observation; incoming: Observation } = {
      inStore: NOT_CHECKED,
      incoming: NOT_CHECKED,
    };
    const { decision } = await this.#commands.handle(
      hex,
      async (state): Promise<RegistryCommand> => {
        // Observed again on every attempt (what a conflict finds may have been moved meanwhile).
        observed.inStore = NOT_CHECKED;
        observed.incoming = NOT_CHECKED;
        if (!promotionSettled(state, base)) {
          observed.inStore = await this.#models.observeAt('store', hex, promoted.fileName);
          if (observed.inStore.kind === 'absent')
            observed.incoming = await this.#models.takeCustody(hex, promoted.fileName);
        }
        return { type: 'store_promoted', ...base, ...observed };
      },
      {
        perform: (d) => this.#perform(d, hex, promoted.fileName),
        meta: (d) => metaOf(d, verified.event.correlationid),
      },
    );
    if (decision.refusal)
      this.#log.error(
        { ...log, reason: decision.refusal.code, detail: decision.refusal.message, ...observed },
        'promoted artifact not stored',
      );
    else this.#log.info({ ...log, reason: decision.outcome }, 'promotion handled');
    return decision;
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
      const handled = await this.#commands.handle(
        hex,
        {
          type: 'record_verification',
          trigger: options.trigger,
          location,
          observed,
          causationId: options.causationId ?? null,
        },
        { meta: (d) => metaOf(d, options.correlationId) },
      );
      const decision = handled.decision;
      // A refusal, not a conflict: the model moved (contained) while it was hashed, so the hash
      // says nothing about it. Hash it again where it is now (the state it was refused on).
      if (decision.refusal?.code === 'stale_observation' && attempt < MAX_COMMAND_ATTEMPTS) {
        location = locationOf(handled.state);
        continue;
      }
      const event = decision.events[0] ?? null;
      const outcome = event?.type === 'model.verified' ? 'verified' : event ? 'failed' : 'unknown';
      const level = outcome === 'failed' ? 'error' : 'info';
      this.#log[level](
        { model: hex, trigger: options.trigger, outcome, reason: reasonOf(decision) },
        'model verification',
      );
      return { outcome, decision, event, eventId: handled.appended?.ids[0] ?? null };
    }
    // Not in the registry (or removed while it was hashed): the decider's refusal, nothing recorded.
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
        initialState(),
      ),
      event: null,
      eventId: null,
    };
  }

  /** Moves a model out of the serving store into containment and records `model.contained`. */
  async contain(hex: string, request: RemovalRequest): Promise<ContainOutcome> {
    const { decision, state } = await this.#removal('contain', hex, request);
    return {
      decision,
      // After a recorded containment, the state holds its path; already contained: the old one.
      containedPath: decision.refusal ? null : state.containedPath,
      alreadyContained: decision.outcome === 'already_contained',
    };
  }

  /** Deletes a model's bytes (store or containment) and records `model.removed`. */
  async remove(hex: string, request: RemovalRequest): Promise<RemoveOutcome> {
    const { decision } = await this.#removal('remove', hex, request);
    return { decision, removed: decision.events.length > 0 };
  }

  /** Containment and removal: observe where the bytes are, decide, move or delete, record. */
  async #removal(type: 'contain' | 'remove', hex: string, request: RemovalRequest) {
    const handled = await this.#commands.handle(
      hex,
      async (): Promise<RegistryCommand> => ({
        type,
        cause: request.cause,
        reason: request.reason,
        presence: await this.#models.presence(hex),
        causationId: request.causationId ?? null,
      }),
      {
        perform: (d) => this.#perform(d, hex, ''),
        meta: (d) => metaOf(d, request.correlationId),
      },
    );
    const { decision } = handled;
    this.#log[decision.refusal ? 'warn' : 'info'](
      { model: hex, reason: reasonOf(decision), cause: request.cause },
      type === 'contain' ? 'containment' : 'removal',
    );
    return handled;
  }
}
