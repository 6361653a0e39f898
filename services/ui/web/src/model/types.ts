import type { EventData, EventType } from './catalogue.js';

/** The CloudEvent of a verified envelope: what the page may show as fact. */
export interface PageEvent {
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  data: unknown;
  correlationid: string;
  causationid?: string;
}

/** One envelope from the stream that passed verification in the page. */
export interface Seen {
  /** Its stream sequence. */
  seq: number;
  /** The NATS subject it was stored on. */
  natsSubject: string;
  event: PageEvent;
  /** The certificate that signed it (checked against the pinned root). */
  signer: { service: string; keyid: string };
}

/** What a refused envelope claims about itself: untrusted, shown as a claim and never folded. */
export interface RefusedClaims {
  keyid?: string;
  source?: string;
  type?: string;
  subject?: string;
  id?: string;
}

/** One envelope from the stream that the page refused to show as fact. */
export interface Refused {
  seq: number;
  natsSubject: string;
  /** The verifier's stable code (SIGNATURE_INVALID, KEY_UNKNOWN...). */
  code: string;
  message: string;
  claims: RefusedClaims;
  /** The envelope's size in bytes as stored. */
  size: number;
}

/** The data of `e` when it is of type `type` (its schema was checked by the verifier). */
export function dataOf<T extends EventType>(e: Seen, type: T): EventData<T> | null {
  return e.event.type === type ? (e.event.data as EventData<T>) : null;
}

/** `secai://quarantine` → `quarantine`, or null when the source is not the appliance's. */
export { serviceOfSource } from '@secai/contracts/web';

/** `model/abc` → `{ type: 'model', id: 'abc' }`. */
export function aggregateOf(subject: string): { type: string; id: string } {
  const slash = subject.indexOf('/');
  return slash === -1
    ? { type: subject, id: '' }
    : { type: subject.slice(0, slash), id: subject.slice(slash + 1) };
}

/** `record[key]` when the record itself holds it (never a prototype's `constructor`...). */
export function own<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
