import { describe, expect, it } from 'vitest';
import { decided, refused, type Decider } from '../src/index.js';
import { deciderSpec } from '../src/testing/index.js';

interface Opened {
  type: 'opened';
  data: { id: string; tags: string[] };
}
type Command = { type: 'open'; id: string } | { type: 'explode' };
const door: Decider<Command, Opened, { open: boolean }, { kind: 'notify' }> = {
  initialState: () => ({ open: false }),
  evolve: () => ({ open: true }),
  decide: (command, state) => {
    if (command.type === 'explode') throw new RangeError('boom');
    if (state.open) return refused('already_open', 'the door is open');
    return decided([{ type: 'opened', data: { tags: ['a'], id: command.id } }], {
      effects: [{ kind: 'notify' }],
    });
  },
};
const spec = deciderSpec(door);
const opened: Opened = { type: 'opened', data: { id: 'd1', tags: ['a'] } };

describe('deciderSpec', () => {
  it('compares events structurally, whatever the key order', () => {
    spec.given([]).when({ type: 'open', id: 'd1' }).then([opened]);
  });

  it('fails with a diff when the events differ', () => {
    expect(() =>
      spec
        .given([])
        .when({ type: 'open', id: 'd1' })
        .then([{ ...opened, data: { id: 'd2', tags: ['a'] } }]),
    ).toThrow(/deeply equal/);
  });

  it('asserts refusals by code, and that then() refuses nothing', () => {
    spec.given([opened]).when({ type: 'open', id: 'd1' }).thenRefuses('already_open', []);
    expect(() => spec.given([opened]).when({ type: 'open', id: 'd1' }).then([])).toThrow(/refusal/);
    expect(() =>
      spec.given([opened]).when({ type: 'open', id: 'd1' }).thenRefuses('other_code'),
    ).toThrow(/refusal code/);
  });

  it('asserts effects and whole decisions', () => {
    spec
      .given([])
      .when({ type: 'open', id: 'd1' })
      .thenEffects([{ kind: 'notify' }]);
    spec
      .given([])
      .when({ type: 'open', id: 'd1' })
      .thenDecides({ events: [opened], effects: [{ kind: 'notify' }] });
    expect(() =>
      spec
        .given([])
        .when({ type: 'open', id: 'd1' })
        .thenDecides({ events: [opened] }),
    ).toThrow();
  });

  it('nothing happened means no events and no refusal', () => {
    expect(() =>
      spec.given([opened]).when({ type: 'open', id: 'd1' }).thenNothingHappened(),
    ).toThrow(/refusal/);
  });

  it('given takes the events as evolve folds them when they are recorded, not decided', () => {
    // A state that remembers where its events were stored, which a decided event does not carry.
    const located: Decider<Command, Opened, { at: number[] }, never, Opened & { seq: number }> = {
      initialState: () => ({ at: [] }),
      evolve: (state, e) => ({ at: [...state.at, e.seq] }),
      decide: (command, state) =>
        command.type === 'open' && state.at.length === 0
          ? decided([{ type: 'opened', data: { id: command.id, tags: [] } }])
          : refused('already_open', `opened at ${state.at.join(',')}`),
    };
    const located7 = { ...opened, seq: 7 };
    deciderSpec(located)
      .given([located7])
      .when({ type: 'open', id: 'd1' })
      .thenDecides({ events: [], refusal: { code: 'already_open', message: 'opened at 7' } });
    deciderSpec(located)
      .given([])
      .when({ type: 'open', id: 'd1' })
      .then([{ type: 'opened', data: { id: 'd1', tags: [] } }]);
  });

  it('asserts a thrown error class and check', () => {
    spec
      .given([])
      .when({ type: 'explode' })
      .thenThrows(RangeError, (e) => e.message === 'boom');
    expect(() => spec.given([]).when({ type: 'explode' }).thenThrows(TypeError)).toThrow(
      /TypeError/,
    );
    expect(() =>
      spec
        .given([])
        .when({ type: 'explode' })
        .thenThrows(RangeError, () => false),
    ).toThrow(/check/);
  });
});
