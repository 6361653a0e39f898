import type { EventStore } from '@secai/streams';

/**
 * Which `quarantine.completed` events already have their `model_promotion` decision, so that a
 * redelivery (an ack lost in a crash, a consumer reset) records no second decision: one run,
 * one decision, whatever the transport does. Loaded once from the `decision/model_promotion`
 * aggregate (each decision's causation is the completed event), then kept as decisions are
 * recorded. One consumer owns the durable and handles one message at a time, so no race.
 */
export interface PromotionLedger {
  decided(completedId: string): Promise<boolean>;
  remember(completedId: string): void;
}

export function promotionLedger(store: Pick<EventStore, 'load'>): PromotionLedger {
  let known: Promise<Set<string>> | null = null;
  const load = (): Promise<Set<string>> => {
    known ??= store.load('decision', 'model_promotion').then(
      ({ events }) =>
        new Set(events.flatMap((e) => (e.event.causationid ? [e.event.causationid] : []))),
      (err: unknown) => {
        known = null; // a failed load is retried with the redelivery, never cached
        throw err;
      },
    );
    return known;
  };
  return {
    async decided(completedId) {
      return (await load()).has(completedId);
    },
    remember(completedId) {
      void load().then((set) => set.add(completedId));
    },
  };
}
