import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  decided,
  refused,
  type Decider,
  type DraftEvent,
  type EventData,
} from '@secai/contracts';
import { CommandHandler, MAX_COMMAND_ATTEMPTS, type EventStore } from '../src/index.js';
import { startTestAppliance, type TestAppliance } from '../src/testing/index.js';

// A small decider over a real event type: each change records how many came before it, so an
// append decided on a stale state is visible in the stored data.
type Level = EventData<'integrity.state.changed'>['to'];
interface Changed {
  from: Level;
  to: Level;
  count: number;
}
interface Counter {
  level: Level;
  count: number;
}
interface Change {
  to: Level;
}

const counter: Decider<Change, Changed, Counter, string> = {
  initialState: () => ({ level: 'ok', count: 0 }),
  evolve: (state, e) => ({ level: e.to, count: state.count + 1 }),
  decide: (command, state) =>
    command.to === state.level
      ? refused('no_change', `already ${state.level}`)
      : decided([{ from: state.level, to: command.to, count: state.count + 1 }], {
          effects: [`announce ${command.to}`],
        }),
};

function handlerFor(store: EventStore, maxAttempts?: number) {
  return new CommandHandler({
    store,
    aggregateType: 'integrity',
    decider: counter,
    fromStored: (loaded) => {
      if (loaded.event.type !== 'integrity.state.changed') return null;
      const data = loaded.event.data as EventData<'integrity.state.changed'>;
      return { from: data.from, to: data.to, count: data.violationCount };
    },
    toDraft: (e, id) => draft(id, e),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  });
}

function draft(aggregateId: string, e: Changed): DraftEvent<'integrity.state.changed'> {
  return {
    type: 'integrity.state.changed',
    aggregateId,
    data: { pathClass: 'policy_file', from: e.from, to: e.to, violationCount: e.count },
  };
}

let app: TestAppliance;
let n = 0;
beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.cleanup();
});

function freshId(): string {
  return `kernel-${process.pid}-${++n}`;
}

async function storedCounts(store: EventStore, id: string): Promise<number[]> {
  const { events } = await store.load('integrity', id);
  return events.map((e) => (e.event.data as EventData<'integrity.state.changed'>).violationCount);
}

describe('CommandHandler', () => {
  it('folds the stored events, decides, and appends at the expected sequence', async () => {
    const { store } = await app.client('integrity-monitor');
    const handler = handlerFor(store);
    const id = freshId();
    const first = await handler.handle(id, { to: 'degraded' });
    const second = await handler.handle(id, { to: 'recovery_required' });
    expect(first.decision.events).toEqual([{ from: 'ok', to: 'degraded', count: 1 }]);
    expect(second.decision.events).toEqual([
      { from: 'degraded', to: 'recovery_required', count: 2 },
    ]);
    expect(second.state).toEqual({ level: 'recovery_required', count: 2 });
    expect(second.recorded).toEqual(second.decision.events);
    expect(second.lastSequence).toBe(second.appended!.lastSequence);
    expect(await storedCounts(store, id)).toEqual([1, 2]);
  });

  it('appends nothing for a refusal and reports it', async () => {
    const { store } = await app.client('integrity-monitor');
    const handler = handlerFor(store);
    const id = freshId();
    const result = await handler.handle(id, { to: 'ok' });
    expect(result.decision.refusal?.code).toBe('no_change');
    expect(result.appended).toBeNull();
    expect(await storedCounts(store, id)).toEqual([]);
  });

  it('carries out the effects before the append, with the state they were decided on', async () => {
    const { store } = await app.client('integrity-monitor');
    const handler = handlerFor(store);
    const id = freshId();
    const seen: string[] = [];
    await handler.handle(
      id,
      { to: 'degraded' },
      {
        perform: async (decision, state) => {
          seen.push(`${state.level}: ${decision.effects!.join(',')}`);
          expect(await storedCounts(store, id)).toEqual([]);
        },
      },
    );
    expect(seen).toEqual(['ok: announce degraded']);
  });

  it('after a conflict, reloads and decides again on the state another writer left', async () => {
    const { store } = await app.client('integrity-monitor');
    const handler = handlerFor(store);
    const id = freshId();
    await handler.handle(id, { to: 'degraded' });
    let observed = 0;
    const result = await handler.handle(id, async (state) => {
      observed++;
      // Another writer moves the aggregate between our read and our append, once.
      if (observed === 1)
        await store.append([draft(id, { from: 'degraded', to: 'ok', count: state.count + 1 })], {
          expectedSequence: 'any',
        });
      return { to: 'recovery_required' };
    });
    expect(result.attempts).toBe(2);
    // Decided on the reloaded state: from `ok` (the other writer's), third change.
    expect(result.decision.events).toEqual([{ from: 'ok', to: 'recovery_required', count: 3 }]);
    expect(await storedCounts(store, id)).toEqual([1, 2, 3]);
  });

  it('gives up after the shared bound of conflicting appends', async () => {
    const { store } = await app.client('integrity-monitor');
    const handler = handlerFor(store);
    const id = freshId();
    let observed = 0;
    const attempt = handler.handle(id, async (state) => {
      observed++;
      await store.append([draft(id, { from: state.level, to: 'degraded', count: 99 })], {
        expectedSequence: 'any',
      });
      return { to: 'recovery_required' };
    });
    await expect(attempt).rejects.toBeInstanceOf(ConcurrencyError);
    expect(observed).toBe(MAX_COMMAND_ATTEMPTS);
    expect(await storedCounts(store, id)).toEqual(Array(MAX_COMMAND_ATTEMPTS).fill(99));
  });

  it('with readBack, folds the appended events as stored (their ids and sequences)', async () => {
    // A state that keeps where its events were stored: what a decided event cannot carry.
    type Stored = Changed & { id: string; seq: number };
    const located: Decider<Change, Changed, Counter & { at: number[] }, never, Stored> = {
      initialState: () => ({ ...counter.initialState(), at: [] }),
      evolve: (state, e) => ({ ...counter.evolve(state, e), at: [...state.at, e.seq] }),
      decide: (command, state) => counter.decide(command, state) as never,
    };
    const { store } = await app.client('integrity-monitor');
    const handler = new CommandHandler({
      store,
      aggregateType: 'integrity',
      decider: located,
      fromStored: (loaded) => {
        if (loaded.event.type !== 'integrity.state.changed') return null;
        const data = loaded.event.data as EventData<'integrity.state.changed'>;
        return {
          from: data.from,
          to: data.to,
          count: data.violationCount,
          id: loaded.event.id,
          seq: loaded.seq,
        };
      },
      toDraft: (e, id) => draft(id, e),
      readBack: true,
    });
    const id = freshId();
    await handler.handle(id, { to: 'degraded' });
    const result = await handler.handle(id, { to: 'ok' });
    const seqs = result.appended!.sequences;
    expect(result.recorded).toEqual([
      { from: 'degraded', to: 'ok', count: 2, id: result.appended!.ids[0], seq: seqs[0] },
    ]);
    expect(result.state.at).toEqual([(await handler.load(id)).state.at[0], seqs[0]]);
    expect((await handler.load(id)).state).toEqual(result.state);
  });

  it('an exclusive section reads a cached state as known and writes it back, with no second lock', async () => {
    const { store } = await app.client('integrity-monitor');
    const handler = handlerFor(store, 1);
    const id = freshId();
    // A caller's own cache of the aggregate: only ever read and written inside the section.
    let cache = await handler.load(id);
    const levels: Level[] = ['degraded', 'ok', 'recovery_required', 'ok'];
    const results = await Promise.all(
      levels.map((to) =>
        handler.exclusive(id, async (locked) => {
          const result = await locked.handle({ to }, { known: cache });
          cache = { state: result.state, lastSequence: result.lastSequence };
          return result;
        }),
      ),
    );
    // With maxAttempts 1 a stale cache would have thrown: every section saw the previous write.
    expect(results.map((r) => r.attempts)).toEqual([1, 1, 1, 1]);
    expect(cache.state).toEqual({ level: 'ok', count: 4 });
    expect(await storedCounts(store, id)).toEqual([1, 2, 3, 4]);
  });

  it('serialises commands on one aggregate inside the process (no self-inflicted conflicts)', async () => {
    const { store } = await app.client('integrity-monitor');
    const handler = handlerFor(store, 1);
    const id = freshId();
    const levels: Level[] = ['degraded', 'ok', 'degraded', 'recovery_required', 'ok'];
    const results = await Promise.all(levels.map((to) => handler.handle(id, { to })));
    expect(results.every((r) => r.attempts === 1)).toBe(true);
    expect(await storedCounts(store, id)).toEqual([1, 2, 3, 4, 5]);
  });
});
