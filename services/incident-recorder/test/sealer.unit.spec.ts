import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@secai/contracts/testing';
import {
  evolve,
  initialSealerState,
  sealed,
  sealerDecider,
  shouldSeal,
  unsealedEvents,
  type ChainedEntry,
  type SealDraft,
  type SealerState,
} from '../src/index.js';

const G = '0'.repeat(64);
const h = (n: number) => n.toString(16).padStart(64, '0');
const policy = { everyEvents: 3, everyMs: 10_000 };
const spec = deciderSpec(sealerDecider(G));
const seal = { type: 'seal' } as const;

const events = (seqs: number[]): ChainedEntry[] =>
  seqs.map((seq) => ({ kind: 'event', seq, head: h(seq) }));
const sealEntry = (seq: number, toSeq: number, eventsAtToSeq = toSeq): ChainedEntry => ({
  kind: 'seal',
  seq,
  head: h(seq),
  seal: { toSeq, head: h(toSeq), eventsAtToSeq },
});
const sealOf = (data: SealDraft['data']): SealDraft => ({
  type: 'audit.checkpoint.sealed',
  aggregateId: 'chain',
  data,
});

function chained(seqs: number[], from: SealerState = initialSealerState(G)): SealerState {
  return events(seqs).reduce(evolve, from);
}

describe('sealer decider', () => {
  describe('when nothing was chained', () => {
    it('does not seal, even when the timer fires', () => {
      expect(shouldSeal(initialSealerState(G), policy, 60_000)).toBe(false);
      spec.given([]).when(seal).thenDecides({ events: [], outcome: 'nothing_to_seal' });
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
      spec
        .given(events([1, 2, 3]))
        .when({ type: 'seal', requestId: 'req-1' })
        .thenDecides({
          events: [
            sealOf({
              fromSeq: 1,
              toSeq: 3,
              count: 3,
              head: h(3),
              previousHead: G,
              requestId: 'req-1',
            }),
          ],
          outcome: 'sealed',
        });
    });
  });

  describe('when the last seal covered everything', () => {
    it('does not seal its own seal event again (an idle appliance makes no seals)', () => {
      const s0 = chained([1, 2, 3]);
      const [draft] = sealerDecider(G).decide(seal, s0).events;
      const s2 = evolve(sealed(s0, draft!, 4), sealEntry(4, 3));
      expect(unsealedEvents(s2)).toBe(0);
      expect(shouldSeal(s2, policy, 60_000)).toBe(false);
      spec
        .given([...events([1, 2, 3]), sealEntry(4, 3)])
        .when(seal)
        .thenNothingHappened();
    });

    it('starts the next window after the previous toSeq, including the seal event itself', () => {
      spec
        .given([...events([1, 2, 3]), sealEntry(4, 3), ...events([5])])
        .when(seal)
        .then([sealOf({ fromSeq: 4, toSeq: 5, count: 2, head: h(5), previousHead: h(3) })]);
    });
  });

  describe('when replaying history after a restart', () => {
    it('recovers the sealed mark from seals found in the stream, counting later events as unsealed', () => {
      // Event 3 was appended while the seal over 1..2 was being written.
      const history = [...events([1, 2, 3]), sealEntry(4, 2)];
      const s = history.reduce(evolve, initialSealerState(G));
      expect(s.sealedToSeq).toBe(2);
      expect(s.lastSealEventSeq).toBe(4);
      expect(unsealedEvents(s)).toBe(1);
      spec
        .given(history)
        .when(seal)
        .then([sealOf({ fromSeq: 3, toSeq: 4, count: 2, head: h(4), previousHead: h(2) })]);
    });
  });
});
