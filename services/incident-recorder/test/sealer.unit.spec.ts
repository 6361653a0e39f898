import { describe, expect, it } from 'vitest';
import {
  decideSeal,
  evolve,
  initialSealerState,
  sealed,
  shouldSeal,
  unsealedEvents,
  type SealerState,
} from '../src/index.js';

const G = '0'.repeat(64);
const h = (n: number) => n.toString(16).padStart(64, '0');
const policy = { everyEvents: 3, everyMs: 10_000 };

function chained(seqs: number[], from: SealerState = initialSealerState(G)): SealerState {
  return seqs.reduce((s, seq) => evolve(s, { kind: 'event', seq, head: h(seq) }), from);
}

describe('sealer decider', () => {
  describe('when nothing was chained', () => {
    it('does not seal, even when the timer fires', () => {
      const s = initialSealerState(G);
      expect(shouldSeal(s, policy, 60_000)).toBe(false);
      expect(decideSeal(s)).toBeNull();
    });
  });

  describe('when events are unsealed', () => {
    it('seals after N events', () => {
      expect(shouldSeal(chained([1, 2]), policy, 0)).toBe(false);
      expect(shouldSeal(chained([1, 2, 3]), policy, 0)).toBe(true);
    });

    it('seals after T ms with anything unsealed', () => {
      expect(shouldSeal(chained([1]), policy, 9_999)).toBe(false);
      expect(shouldSeal(chained([1]), policy, 10_000)).toBe(true);
    });

    it('covers everything since the previous seal, continuing its head', () => {
      const s = chained([1, 2, 3]);
      expect(decideSeal(s, 'req-1')).toEqual({
        type: 'audit.checkpoint.sealed',
        aggregateId: 'chain',
        data: { fromSeq: 1, toSeq: 3, count: 3, head: h(3), previousHead: G, requestId: 'req-1' },
      });
    });
  });

  describe('when the last seal covered everything', () => {
    it('does not seal its own seal event again (an idle appliance makes no seals)', () => {
      const s0 = chained([1, 2, 3]);
      const seal = decideSeal(s0)!;
      const s1 = sealed(s0, seal, 4);
      const s2 = evolve(s1, {
        kind: 'seal',
        seq: 4,
        head: h(4),
        seal: { toSeq: 3, head: h(3), eventsAtToSeq: 3 },
      });
      expect(unsealedEvents(s2)).toBe(0);
      expect(shouldSeal(s2, policy, 60_000)).toBe(false);
      expect(decideSeal(s2)).toBeNull();
    });

    it('starts the next window after the previous toSeq, including the seal event itself', () => {
      const s0 = chained([1, 2, 3]);
      const s1 = sealed(s0, decideSeal(s0)!, 4);
      const s2 = chained(
        [5],
        evolve(s1, {
          kind: 'seal',
          seq: 4,
          head: h(4),
          seal: { toSeq: 3, head: h(3), eventsAtToSeq: 3 },
        }),
      );
      expect(decideSeal(s2)!.data).toEqual({
        fromSeq: 4,
        toSeq: 5,
        count: 2,
        head: h(5),
        previousHead: h(3),
      });
    });
  });

  describe('when replaying history after a restart', () => {
    it('recovers the sealed mark from seals found in the stream, counting later events as unsealed', () => {
      let s = chained([1, 2]);
      s = chained([3], s); // appended while the seal was being written
      s = evolve(s, {
        kind: 'seal',
        seq: 4,
        head: h(4),
        seal: { toSeq: 2, head: h(2), eventsAtToSeq: 2 },
      });
      expect(s.sealedToSeq).toBe(2);
      expect(s.lastSealEventSeq).toBe(4);
      expect(unsealedEvents(s)).toBe(1);
      expect(decideSeal(s)!.data).toMatchObject({ fromSeq: 3, toSeq: 4, previousHead: h(2) });
    });
  });
});
