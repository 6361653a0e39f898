import {
  ConcurrencyError,
  foldEvents,
  type Decider,
  type Decision,
  type DraftEvent,
} from '@secai/contracts';
import type { AppendResult, EventStore, LoadedEvent } from './eventStore.js';
import { KeyedMutex } from './keyedMutex.js';
import { StreamError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * How many times one command is decided before a run of concurrency conflicts is an error. One
 * bound for every service: a conflict means another writer moved the aggregate between our read
 * and our append, which on this appliance is rare (one owner per aggregate); five in a row means
 * something is wrong, and deciding forever would hide it.
 */
export const MAX_COMMAND_ATTEMPTS = 5;

/** The aggregate a command is decided on: its events live on `secai.evt.<type>.<id>`. */
export interface AggregateRef {
  type: string;
  id: string;
}

/** An aggregate's state and the stream sequence it was folded up to (0: no events yet). */
export interface AggregateState<State> {
  state: State;
  lastSequence: number;
}

export interface CommandHandlerOptions<
  Command,
  Event,
  State,
  Effect,
  Recorded = Event,
  Code extends string = string,
> {
  store: EventStore;
  aggregateType: string;
  decider: Decider<Command, Event, State, Effect, Recorded, Code>;
  /** A stored, verified event in the decider's terms; `null` skips it (another type). */
  fromStored: (loaded: LoadedEvent) => Recorded | null;
  /** A decided event as a draft for the store (type, data) on aggregate `aggregateId`. */
  toDraft: (event: Event, aggregateId: string) => DraftEvent;
  log?: Logger;
  maxAttempts?: number;
  /**
   * Fold the appended events as stored (read back by sequence, verified, through `fromStored`)
   * instead of as decided: for a decider whose state keeps where and when its events were
   * stored, which a decided event does not carry. Required when `Recorded` is not `Event`.
   */
  readBack?: boolean;
}

/** `readBack` may be left out only when a decided event is itself what `evolve` folds. */
export type ReadBackRequirement<Event, Recorded> = [Event] extends [Recorded]
  ? { readBack?: boolean }
  : { readBack: true };

export interface CommandMetadata {
  causationId?: string | undefined;
  correlationId?: string | undefined;
}

export interface HandleOptions<Event, State, Effect, Code extends string = string> {
  /**
   * Causation and correlation of the appended events: fixed, or read off the decision (a
   * decider that names the event it answers).
   */
  meta?: CommandMetadata | ((decision: Decision<Event, Effect, Code>) => CommandMetadata);
  /**
   * The edge's effects, carried out after deciding and before the append (the registry moves a
   * file, then records that it did). A conflict at the append decides again on the reloaded
   * state, with a fresh observation: effects must be safe to carry out again on what they find.
   */
  perform?: (decision: Decision<Event, Effect, Code>, state: State) => Promise<void>;
  /** A state already known (a cache): used for the first attempt only, reloaded after a conflict. */
  known?: AggregateState<State>;
}

export interface HandledCommand<
  Event,
  State,
  Effect,
  Recorded = Event,
  Code extends string = string,
> {
  decision: Decision<Event, Effect, Code>;
  /** The state after the appended events (the state decided on when nothing was appended). */
  state: State;
  lastSequence: number;
  /** What the store appended; null when the decision had no events. */
  appended: AppendResult | null;
  /** The appended events as folded into `state` (read back when `readBack`); [] for none. */
  recorded: Recorded[];
  attempts: number;
}

/**
 * The command kernel every service uses (ARCHITECTURE §3.2, §4): fold the aggregate's events,
 * decide, carry out the effects, append with the expected subject sequence, and on a concurrency
 * conflict reload and decide again, at most `maxAttempts` times. Commands on one aggregate are
 * serialised inside this process, so conflicts come only from other writers.
 *
 * `command` may be a function of the state: an observation made for this state (the disk, the
 * clock), made again after a conflict so a retry never rests on a stale one.
 */
export class CommandHandler<
  Command,
  Event,
  State,
  Effect = never,
  Recorded = Event,
  Code extends string = string,
> {
  readonly #options: CommandHandlerOptions<Command, Event, State, Effect, Recorded, Code>;
  readonly #mutex = new KeyedMutex();
  readonly #maxAttempts: number;

  constructor(
    options: CommandHandlerOptions<Command, Event, State, Effect, Recorded, Code> &
      ReadBackRequirement<Event, Recorded>,
  ) {
    this.#options = options;
    this.#maxAttempts = options.maxAttempts ?? MAX_COMMAND_ATTEMPTS;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1)
      throw new StreamError('APPEND_FAILED', 'maxAttempts must be a positive integer');
  }

  get aggregateType(): string {
    return this.#options.aggregateType;
  }

  /** The aggregate's state folded from its stored events (refused envelopes throw: fail closed). */
  async load(id: string): Promise<AggregateState<State>> {
    const { events, lastSequence } = await this.#options.store.load(this.aggregateType, id);
    const decided: Recorded[] = [];
    for (const loaded of events) {
      const event = this.#options.fromStored(loaded);
      if (event !== null) decided.push(event);
    }
    return { state: foldEvents(this.#options.decider, decided), lastSequence };
  }

  /**
   * Runs `section` alone for aggregate `id` in this process: no other command on it interleaves.
   * Inside, `handle` decides and appends without taking the lock again, so a caller that keeps
   * its own cache of the state (the incident book) reads it as `known` and writes it back after
   * the append within one section, instead of wrapping the kernel in a second lock.
   */
  exclusive<T>(
    id: string,
    section: (locked: {
      handle: (
        command: Command | ((state: State) => Command | Promise<Command>),
        options?: HandleOptions<Event, State, Effect, Code>,
      ) => Promise<HandledCommand<Event, State, Effect, Recorded, Code>>;
    }) => Promise<T>,
  ): Promise<T> {
    return this.#mutex.run(id, () =>
      section({ handle: (command, options = {}) => this.#decideAndAppend(id, command, options) }),
    );
  }

  async handle(
    id: string,
    command: Command | ((state: State) => Command | Promise<Command>),
    options: HandleOptions<Event, State, Effect, Code> = {},
  ): Promise<HandledCommand<Event, State, Effect, Recorded, Code>> {
    return this.exclusive(id, (locked) => locked.handle(command, options));
  }

  async #decideAndAppend(
    id: string,
    command: Command | ((state: State) => Command | Promise<Command>),
    options: HandleOptions<Event, State, Effect, Code>,
  ): Promise<HandledCommand<Event, State, Effect, Recorded, Code>> {
    const { decider, store, toDraft, log } = this.#options;
    let current = options.known ?? (await this.load(id));
    for (let attempt = 1; ; attempt++) {
      const input =
        typeof command === 'function'
          ? await (command as (state: State) => Command | Promise<Command>)(current.state)
          : command;
      const decision = decider.decide(input, current.state);
      if (options.perform) await options.perform(decision, current.state);
      if (decision.events.length === 0)
        return { decision, ...current, appended: null, recorded: [], attempts: attempt };
      const meta = typeof options.meta === 'function' ? options.meta(decision) : options.meta;
      try {
        const appended = await store.append(
          decision.events.map((e) => toDraft(e, id)),
          {
            expectedSequence: current.lastSequence,
            ...(meta?.causationId !== undefined ? { causationId: meta.causationId } : {}),
            ...(meta?.correlationId !== undefined ? { correlationId: meta.correlationId } : {}),
          },
        );
        const recorded = await this.#recorded(decision.events, appended);
        return {
          decision,
          state: foldEvents(decider, recorded, current.state),
          lastSequence: appended.lastSequence,
          appended,
          recorded,
          attempts: attempt,
        };
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        if (attempt >= this.#maxAttempts)
          throw new ConcurrencyError(
            current.lastSequence,
            `${this.aggregateType}/${id} kept moving: ${attempt} conflicting appends in a row`,
            { cause: err },
          );
        log?.warn(
          { aggregate: `${this.aggregateType}/${id}`, attempt },
          'aggregate moved on; deciding again',
        );
        current = await this.load(id);
      }
    }
  }

  async #recorded(events: Event[], appended: AppendResult): Promise<Recorded[]> {
    // Without `readBack`, `Recorded` is `Event` (ReadBackRequirement): the decided events fold.
    if (!this.#options.readBack) return events as unknown as Recorded[];
    const out: Recorded[] = [];
    for (const seq of appended.sequences) {
      const event = this.#options.fromStored(await this.#options.store.loadAt(seq));
      if (event !== null) out.push(event);
    }
    return out;
  }
}
