import { expect } from 'vitest';
import { foldEvents, type Decider, type Decision } from '../decider.js';

/**
 * given/when/then for deciders (emmett's DeciderSpecification, in our own words):
 * `spec.given(events).when(command).then(expectedEvents)`. Comparison is vitest's deep equality
 * (key order does not matter, and a failure shows a structural diff).
 */
export interface DeciderThen<Event, Effect> {
  /** The decision appends exactly `expected` and refuses nothing. */
  then(expected: Event[]): Decision<Event, Effect>;
  /** The whole decision: events, refusal, effects and outcome (absent fields must be absent). */
  thenDecides(expected: Decision<Event, Effect>): Decision<Event, Effect>;
  /** The command is refused with `code` (and, when given, exactly these events). */
  thenRefuses(code: string, events?: Event[]): Decision<Event, Effect>;
  /** The decision carries exactly these effects. */
  thenEffects(expected: Effect[]): Decision<Event, Effect>;
  /** No events and no refusal. */
  thenNothingHappened(): Decision<Event, Effect>;
  thenThrows<E extends Error>(
    errorClass: new (...args: never[]) => E,
    check?: (error: E) => boolean,
  ): void;
}

/**
 * `given` takes the events as `evolve` folds them (`Recorded`: the decided events themselves,
 * unless the decider folds events as stored); `then` compares the decided ones.
 */
export function deciderSpec<Command, Event, State, Effect = never, Recorded = Event>(
  decider: Decider<Command, Event, State, Effect, Recorded>,
) {
  return {
    given(events: Recorded[]) {
      return {
        when(command: Command): DeciderThen<Event, Effect> {
          const run = () => decider.decide(command, foldEvents(decider, events));
          return {
            then(expected) {
              const decision = run();
              expect(decision.refusal, 'refusal').toBeUndefined();
              expect(decision.events).toEqual(expected);
              return decision;
            },
            thenDecides(expected) {
              const decision = run();
              expect(decision).toEqual(expected);
              return decision;
            },
            thenRefuses(code, expectedEvents) {
              const decision = run();
              expect(decision.refusal?.code, 'refusal code').toBe(code);
              if (expectedEvents !== undefined) expect(decision.events).toEqual(expectedEvents);
              return decision;
            },
            thenEffects(expected) {
              const decision = run();
              expect(decision.effects ?? []).toEqual(expected);
              return decision;
            },
            thenNothingHappened() {
              const decision = run();
              expect(decision.refusal, 'refusal').toBeUndefined();
              expect(decision.events).toEqual([]);
              return decision;
            },
            thenThrows(errorClass, check) {
              let thrown: unknown;
              try {
                run();
              } catch (err) {
                thrown = err;
              }
              expect(thrown, `expected ${errorClass.name} to be thrown`).toBeInstanceOf(errorClass);
              if (check) expect(check(thrown as never), `${errorClass.name} check`).toBe(true);
            },
          };
        },
      };
    },
  };
}
