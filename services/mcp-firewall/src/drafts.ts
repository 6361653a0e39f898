import { sha256Hex, type DraftEvent, type EventType } from '@secai/contracts';

// The events this service records, as drafts of one type, and the aggregate ids they go on.

export type DraftOf<T extends EventType> = DraftEvent<T>;

/**
 * The aggregate id of a server's history (`mcp-server/<id>`): its name where the name is a valid
 * subject token (policy names may hold `.`, a NATS token separator), else `x-` and the first
 * 40 hex digits of its SHA-256. The name itself is in every event's data.
 */
export function serverAggregateId(server: string): string {
  return /^[A-Za-z0-9_:-]{1,128}$/.test(server) ? server : `x-${sha256Hex(server).slice(0, 40)}`;
}
