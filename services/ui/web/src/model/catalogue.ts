// The event catalogue's types, for reading the data of verified events. Type-only: erased from the
// bundle, so nothing of the Node-side contracts reaches the page.
// TODO(part A): import these from '@secai/contracts/web' once it re-exports them; until then the
// types come straight from the catalogue's sources (node-free: TypeBox only).
export type { EventData, EventType } from '../../../../../contracts/src/events/index.js';
