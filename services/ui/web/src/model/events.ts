import { aggregateOf, serviceOfSource, type Refused, type Seen } from './types.js';

// The live list: filters over the verified events kept in the window (type, aggregate, emitter,
// time), and the refused envelopes, which are never mixed with them.

export interface EventFilter {
  /** A type, or a prefix ending in `.` or `*` (`incident.`, `quarantine.*`). */
  type?: string;
  /** `model/<id>`, or an aggregate type alone (`model`). */
  aggregate?: string;
  emitter?: string;
  /** Only events at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** Only events before this time (ms since the epoch). */
  untilMs?: number;
}

export function matchesFilter(e: Seen, filter: EventFilter): boolean {
  const type = filter.type?.trim();
  if (type) {
    const prefix = type.endsWith('*') ? type.slice(0, -1) : type.endsWith('.') ? type : null;
    if (prefix !== null ? !e.event.type.startsWith(prefix) : e.event.type !== type) return false;
  }
  const aggregate = filter.aggregate?.trim();
  if (aggregate) {
    if (aggregate.includes('/')) {
      if (e.event.subject !== aggregate) return false;
    } else if (aggregateOf(e.event.subject).type !== aggregate) return false;
  }
  const emitter = filter.emitter?.trim();
  if (emitter && serviceOfSource(e.event.source) !== emitter) return false;
  if (filter.sinceMs !== undefined || filter.untilMs !== undefined) {
    const at = Date.parse(e.event.time);
    if (filter.sinceMs !== undefined && !(at >= filter.sinceMs)) return false;
    if (filter.untilMs !== undefined && !(at < filter.untilMs)) return false;
  }
  return true;
}

/** The newest `limit` events matching the filter, newest first. */
export function filterEvents<E extends Seen>(
  events: readonly E[],
  filter: EventFilter,
  limit = 500,
): E[] {
  const out: E[] = [];
  for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
    const e = events[i]!;
    if (matchesFilter(e, filter)) out.push(e);
  }
  return out;
}

/** Refused envelopes by code, for the summary line. */
export function refusedByCode(refused: readonly Refused[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of refused) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}
