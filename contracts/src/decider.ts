/**
 * The one shape of business rules in the appliance (emmett's Decider, in our own words):
 * `decide(command, state) → Decision`, `evolve(state, event) → state`, `initialState()`. All
 * three are pure: time, ids and observations of the world come in on the command.
 *
 * `Recorded` is what `evolve` folds: for most deciders the decided events themselves. A state
 * that keeps where and when its events were stored (the incident machine binds a ceremony to
 * stream sequences) folds the events as stored instead, which `decide` cannot know yet.
 * `Code` is the decider's refusal codes, so callers of the kernel match on them typed.
 */
export interface Decider<
  Command,
  Event,
  State,
  Effect = never,
  Recorded = Event,
  Code extends string = string,
> {
  decide: (command: Command, state: State) => Decision<Event, Effect, Code>;
  evolve: (state: State, event: Recorded) => State;
  initialState: () => State;
}

/** Why a command was refused: a stable code callers match on, and words for a person. */
export interface Refusal<Code extends string = string> {
  code: Code;
  message: string;
}

/**
 * What a decider decided. `events` are appended (in order, on the command's aggregate); a
 * `refusal` says the command was refused (its events, if any, record the refusal); `effects` are
 * the I/O the edge carries out, as data, so a crash between them and the append is decided, not
 * guessed. `outcome` is a stable word for what happened when nothing was refused (`stored`,
 * `already_stored`, `attached`), for logs and replies.
 */
export interface Decision<Event, Effect = never, Code extends string = string> {
  events: Event[];
  refusal?: Refusal<Code>;
  effects?: Effect[];
  outcome?: string;
}

/** A decision that appends `events` (none: nothing happened) and carries `extra` as given. */
export function decided<Event, Effect = never>(
  events: Event[],
  extra: { effects?: Effect[]; outcome?: string } = {},
): Decision<Event, Effect, never> {
  return { events, ...extra };
}

/** A refusal; `events` record it where the aggregate keeps refusals in its history. */
export function refused<Code extends string, Event = never, Effect = never>(
  code: Code,
  message: string,
  extra: { events?: Event[]; effects?: Effect[] } = {},
): Decision<Event, Effect, Code> {
  return { events: extra.events ?? [], refusal: { code, message }, ...pickEffects(extra) };
}

function pickEffects<Effect>(extra: { effects?: Effect[] }): { effects?: Effect[] } {
  return extra.effects === undefined ? {} : { effects: extra.effects };
}

/** The state after `events`, folded from `initialState()` (or from `state`). */
export function foldEvents<Event, State>(
  decider: Pick<Decider<unknown, unknown, State, unknown, Event>, 'evolve' | 'initialState'>,
  events: Iterable<Event>,
  state: State = decider.initialState(),
): State {
  let current = state;
  for (const event of events) current = decider.evolve(current, event);
  return current;
}
