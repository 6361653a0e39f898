import type { EventType, EventData } from '../events/index.js';
import { catalogue, dataschemaOf } from '../events/index.js';
import { sourceOf } from '../services.js';
import { newEventId } from '../ids.js';
import { preAuthEncoding } from './pae.js';
import type { CloudEvent, DsseEnvelope, Signer } from './types.js';
import { PAYLOAD_TYPE } from './types.js';

const encoder = new TextEncoder();

/** What a decider returns: the event minus everything the edge fills in (ids, time, source). */
export interface DraftEvent<T extends EventType = EventType> {
  type: T;
  aggregateId: string;
  data: EventData<T>;
}

export interface EventMetadata {
  /** Injected clock: deciders never read time themselves. */
  now: Date;
  id?: string;
  correlationId?: string;
  causationId?: string;
}

/** Turns a draft into a complete CloudEvent of the signer's service. */
export function toCloudEvent<T extends EventType>(
  draft: DraftEvent<T>,
  service: string,
  meta: EventMetadata,
): CloudEvent<EventData<T>, T> {
  const def = catalogue[draft.type];
  const id = meta.id ?? newEventId(meta.now);
  const event: CloudEvent<EventData<T>, T> = {
    specversion: '1.0',
    id,
    source: sourceOf(service),
    type: draft.type,
    subject: `${def.aggregate}/${draft.aggregateId}`,
    time: meta.now.toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataschemaOf(def),
    data: draft.data,
    correlationid: meta.correlationId ?? id,
  };
  if (meta.causationId !== undefined) event.causationid = meta.causationId;
  return event;
}

/** Signs any CloudEvent-shaped document (events, commands, replies) into a DSSE envelope. */
export function signDocument(document: object, signer: Signer): DsseEnvelope {
  const payload = encoder.encode(JSON.stringify(document));
  const sig = signer.sign(preAuthEncoding(PAYLOAD_TYPE, payload));
  return {
    payloadType: PAYLOAD_TYPE,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: signer.keyid, sig: Buffer.from(sig).toString('base64') }],
  };
}

/** Serialised envelope bytes, as published on the bus. */
export function encodeEnvelope(envelope: DsseEnvelope): Uint8Array {
  return encoder.encode(JSON.stringify(envelope));
}

/**
 * Builds and signs one event.
 * @example
 * const { envelope, event } = signEvent(
 *   { type: 'service.started', aggregateId: 'quarantine', data },
 *   signer,
 *   { now: new Date() },
 * );
 */
export function signEvent<T extends EventType>(
  draft: DraftEvent<T>,
  signer: Signer,
  meta: EventMetadata,
): { event: CloudEvent<EventData<T>, T>; envelope: DsseEnvelope; bytes: Uint8Array } {
  const event = toCloudEvent(draft, signer.service, meta);
  const envelope = signDocument(event, signer);
  return { event, envelope, bytes: encodeEnvelope(envelope) };
}
