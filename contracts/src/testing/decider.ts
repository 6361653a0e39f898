/**
 * given/when/then for deciders (emmett's DeciderSpecification, in our own words):
 * `spec.given(events).when(command).then(expectedEvents)`.
 */
export interface Decider<Command, Event, State> {
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

export interface DeciderThen<Event> {
  then(expected: Event[]): void;
  thenNothingHappened(): void;
  thenThrows<E extends Error>(
    errorClass: new (...args: never[]) => E,
    check?: (error: E) => boolean,
  ): void;
}

export function deciderSpec<Command, Event, State>(decider: Decider<Command, Event, State>) {
  return {
    given(events: Event[]) {
      return {
        when(command: Command): DeciderThen<Event> {
          const run = () =>
            decider.decide(command, events.reduce(decider.evolve, decider.initialState()));
          return {
            then(expected) {
              assertDeepEqual(run(), expected);
            },
            thenNothingHappened() {
              assertDeepEqual(run(), []);
            },
            thenThrows(errorClass, check) {
              let thrown: unknown;
              try {
                run();
              } catch (err) {
                thrown = err;
              }
              if (!(thrown instanceof errorClass)) {
                throw new Error(`expected ${errorClass.name} to be thrown, got ${String(thrown)}`);
              }
              if (check && !check(thrown))
                throw new Error(`${errorClass.name} did not pass the check`);
            },
          };
        },
      };
    },
  };
}

function assertDeepEqual(actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`events differ\n  expected: ${e}\n  actual:   ${a}`);
}
