import type { LoadedEvent } from '@secai/streams';

// What the quarantine reads of the registry's `model/<hex>` aggregate (same hex as the artifact):
// only which promotions the registry stored and later removed. The registry owns those events;
// the quarantine may read the stream, never write them. Pure fold, no I/O.

/** The registry's events on a model, reduced to what the import rule needs. */
export interface RegistryView {
  /**
   * Ids of the `model.promoted` events whose stored model the registry removed since (the
   * `model.stored` a promotion caused, followed by a `model.removed`).
   */
  removedPromotions: readonly string[];
}

export const EMPTY_REGISTRY_VIEW: RegistryView = { removedPromotions: [] };

/** Folds the registry's stored events of one model (`model.stored` is caused by the promotion). */
export function registryViewOf(
  events: readonly { type: string; causationId?: string | undefined }[],
): RegistryView {
  const removed: string[] = [];
  let storedFrom: string | null = null;
  for (const e of events) {
    if (e.type === 'model.stored') storedFrom = e.causationId ?? null;
    else if (e.type === 'model.removed') {
      if (storedFrom !== null && !removed.includes(storedFrom)) removed.push(storedFrom);
      storedFrom = null;
    }
  }
  return { removedPromotions: removed };
}

/** The stored events of `model/<hex>` as `registryViewOf` reads them. */
export function registryEventsOf(
  loaded: readonly LoadedEvent[],
): { type: string; causationId?: string | undefined }[] {
  return loaded.map((l) => ({ type: l.event.type, causationId: l.event.causationid }));
}
