// The event catalogue's types, for reading the data of verified events. Type-only: erased from the
// bundle.
export type { EventData, EventType } from '@secai/contracts/web';
