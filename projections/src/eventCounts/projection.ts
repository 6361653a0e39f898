import type { Projection } from '../projection.js';

export interface EventCountsDocument {
  total: number;
  byType: Record<string, number>;
}

export const EVENT_COUNTS = 'event-counts';

/** How many events the stream holds, in total and per type. */
export const eventCountsProjection: Projection<EventCountsDocument> = {
  name: EVENT_COUNTS,
  canHandle: 'all',
  initialState: () => ({ total: 0, byType: {} }),
  evolve(doc, e) {
    const { type } = e.event;
    const known = Object.hasOwn(doc.byType, type) ? (doc.byType[type] ?? 0) : 0;
    return { total: doc.total + 1, byType: { ...doc.byType, [type]: known + 1 } };
  },
};
