import type { EventType, EventData } from '../events/index.js';
import { catalogue, dataschemaOf } from '../events/index.js';
import { sourceOf } from '../services.js';
import { newEventId } from '../ids.js';
import { preAuthEncoding } from './pae.js';
import type { CloudEvent, DsseEnvelope, Signer } from './types.js';
import { PAYLOAD_TYPE } from './types.js';

const encoder = new TextEncoder();

/** `DSSEv1 len(type) type ` of every event envelope (the PAE before the payload's length). */
const PAE_HEAD = `DSSEv1 ${Buffer.byteLength(PAYLOAD_TYPE)} ${PAYLOAD_TYPE} `;
/** What `JSON.stringify(envelope)` writes before the base64 payload. */
const ENVELOPE_HEAD = `{"payloadType":${JSON.stringify(PAYLOAD_TYPE)},"payload":"`;

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

/**
 * A draft whose `data` is already JSON text (`JSON.stringify(draft.data)`), e.g. to cross a
 * thread as one string instead of a structured clone.
 */
export interface DraftEventJson<T extends EventType = EventType> {
  type: T;
  aggregateId: string;
  /** `JSON.stringify(data)`; undefined when the data is (the key is left out, as stringify does). */
  dataJson: string | undefined;
}

/**
 * The envelope bytes `signEvent(draft, signer, meta).bytes` gives for the draft whose data
 * serialises to `draft.dataJson`, **byte for byte**, written directly: the CloudEvent text is
 * assembled in `toCloudEvent`'s key order (`JSON.stringify` of an object is the concatenation of
 * its keys and values, each stringified, so splicing `dataJson` in gives the same text), signed
 * over the same DSSE PAE, and the envelope written in `signDocument`'s key order. Base64 and a hex
 * `keyid` need no escaping; every string value still goes through `JSON.stringify`. For hot paths
 * (the signing pool); a unit test holds it to `signEvent`.
 */
export function signEventJson<T extends EventType>(
  draft: DraftEventJson<T>,
  signer: Signer,
  meta: EventMetadata,
): Uint8Array {
  const def = catalogue[draft.type];
  const id = meta.id ?? newEventId(meta.now);
  const q = JSON.stringify;
  let text =
    `{"specversion":"1.0","id":${q(id)},"source":${q(sourceOf(signer.service))}` +
    `,"type":${q(draft.type)},"subject":${q(`${def.aggregate}/${draft.aggregateId}`)}` +
    `,"time":${q(meta.now.toISOString())},"datacontenttype":"application/json"` +
    `,"dataschema":${q(dataschemaOf(def))}`;
  if (draft.dataJson !== undefined) text += `,"data":${draft.dataJson}`;
  text += `,"correlationid":${q(meta.correlationId ?? id)}`;
  if (meta.causationId !== undefined) text += `,"causationid":${q(meta.causationId)}`;
  text += '}';
  // The PAE and the payload in one buffer: the payload is the PAE's tail, encoded once.
  const length = Buffer.byteLength(text, 'utf8');
  const head = `${PAE_HEAD}${length} `;
  const pae = Buffer.allocUnsafe(head.length + length);
  pae.write(head, 0, 'latin1');
  pae.write(text, head.length, 'utf8');
  const signature = signer.sign(pae);
  const sig = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
  const payload = pae.toString('base64', head.length);
  return Buffer.from(
    `${ENVELOPE_HEAD}${payload}","signatures":[{"keyid":${q(signer.keyid)},"sig":"${sig.toString('base64')}"}]}`,
    'utf8',
  );
}
