import { v7 } from 'uuid';

/** Time-ordered event id (UUIDv7), so ids sort in the order events were made. */
export function newEventId(now?: Date): string {
  return now ? v7({ msecs: now.getTime() }) : v7();
}
