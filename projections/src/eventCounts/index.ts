export { EVENT_COUNTS, eventCountsProjection, type EventCountsDocument } from './projection.js';
