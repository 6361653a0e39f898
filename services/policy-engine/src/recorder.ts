import type { DraftEvent } from '@secai/contracts';
import type { EventStore } from '@secai/streams';

/** Where decisions go before they are answered: the `decision/<domain>` aggregates. */
export interface DecisionRecorder {
  /** Records the decision durably and returns its event id; throws when it cannot. */
  record(
    event: DraftEvent<'policy.decided'>,
    links?: { causationId?: string; correlationId?: string },
  ): Promise<string>;
}

/**
 * Records each decision as a `policy.decided` event and waits for the stream's acknowledgement
 * before the answer leaves: an allow that is not in the log is never given. Decisions are a log,
 * so no per-aggregate concurrency check applies.
 */
export function streamRecorder(store: EventStore): DecisionRecorder {
  return {
    async record(event, links = {}) {
      const { ids } = await store.append([event], { expectedSequence: 'any', ...links });
      return ids[0]!;
    },
  };
}
