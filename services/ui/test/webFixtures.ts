import { readFileSync } from 'node:fs';
import type { Seen } from '../web/src/model/types.js';

// Envelopes as the page sees them after verification, built from the contracts' fixture data
// (real event data of every type, checked against the schemas by the contracts' own tests).

const FIXTURES = new URL('../../../contracts/test/__fixtures__/events/', import.meta.url);

/** The fixture data of `type`, parsed afresh (so a test may change it). */
export function fixture<T = Record<string, unknown>>(type: string): T {
  return JSON.parse(readFileSync(new URL(`${type}.json`, FIXTURES), 'utf8')) as T;
}

export const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

let nextSeq = 1;

/** A verified event of `type` from `emitter` about `subject`, with the given (or fixture) data. */
export function seen(
  type: string,
  emitter: string,
  subject: string,
  data: unknown = fixture(type),
  at: { seq?: number; time?: number } = {},
): Seen {
  const seq = at.seq ?? nextSeq++;
  const slash = subject.indexOf('/');
  return {
    seq,
    natsSubject: `secai.evt.${subject.slice(0, slash)}.${subject.slice(slash + 1)}`,
    event: {
      id: `01913f70-0000-7000-8000-${String(seq).padStart(12, '0')}`,
      source: `secai://${emitter}`,
      type,
      subject,
      time: new Date(at.time ?? T0 + seq * 1000).toISOString(),
      data,
      correlationid: 'c-1',
    },
    signer: { service: emitter, keyid: 'f'.repeat(64) },
  };
}

/** Folds `events` in order from `initial`. */
export function foldAll<S>(fold: (s: S, e: Seen) => S, initial: S, events: Seen[]): S {
  return events.reduce(fold, initial);
}
