import { AUTHORITY, mayEmit } from '../authority.js';
import { catalogue, dataschemaOf, isEventType, type EventDefinition } from '../events/index.js';
import { serviceOfSource } from '../services.js';
import { eventSubject } from '../subjects.js';
import { EnvelopeError, type EnvelopeClaims } from './errors.js';
import type { Revocation } from './revocation.js';
import type { CloudEvent, DeliveryContext, DsseEnvelope } from './types.js';
import { MAX_ENVELOPE_BYTES, PAYLOAD_TYPE } from './types.js';

/*
 * The envelope rules that need no cryptography, shared by the node verifier (envelope/verify.ts)
 * and the browser verifier (web/verify.ts) so both refuse the same bytes with the same code.
 * Platform-neutral on purpose: no `node:*`, no Buffer (the browser bundle imports this file).
 */

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
/** What a base64 field may hold; checked before any decoding, by both verifiers. */
export const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** What the rules need to know of the signing key (a node `TrustedKey` or a browser one). */
export interface SignerFacts {
  keyid: string;
  service: string;
  notBefore: Date;
  notAfter: Date;
}

/** How a verifier checks `data` against its type's schema: every problem as `path: message`. */
export type SchemaCheck = (definition: EventDefinition, data: unknown) => string[];

/** Size before any parsing. */
export function checkSize(bytes: Uint8Array, maxBytes = MAX_ENVELOPE_BYTES): void {
  if (bytes.length > maxBytes) {
    throw new EnvelopeError('TOO_LARGE', `envelope is ${bytes.length} bytes, limit ${maxBytes}`);
  }
}

/** Parses the outer DSSE structure without trusting any of it. */
export function parseEnvelope(bytes: Uint8Array): DsseEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new EnvelopeError('ENVELOPE_MALFORMED', 'envelope is not UTF-8 JSON', {}, { cause });
  }
  if (!isRecord(value)) throw malformed('envelope is not an object');
  const { payloadType, payload, signatures } = value;
  if (payloadType !== PAYLOAD_TYPE) throw malformed(`payloadType must be ${PAYLOAD_TYPE}`);
  if (typeof payload !== 'string' || !BASE64.test(payload))
    throw malformed('payload must be base64');
  if (!Array.isArray(signatures) || signatures.length !== 1) {
    throw malformed('exactly one signature is expected');
  }
  const [sig] = signatures as unknown[];
  if (
    !isRecord(sig) ||
    typeof sig.keyid !== 'string' ||
    typeof sig.sig !== 'string' ||
    !BASE64.test(sig.sig)
  ) {
    throw malformed('signature must have string keyid and base64 sig');
  }
  return { payloadType, payload, signatures: [{ keyid: sig.keyid, sig: sig.sig }] };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SEXTET = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;

/**
 * Base64 to bytes, giving exactly what node's `Buffer.from(text, 'base64')` gives for every text
 * that passes `BASE64` (decoding stops at the first `=`, a lone trailing character adds nothing,
 * spare low bits are dropped), so both verifiers hash and verify the same bytes. Characters
 * outside the alphabet are refused (`BASE64` is checked first; this is the second line).
 */
export function decodeBase64(text: string): Uint8Array {
  const pad = text.indexOf('=');
  const end = pad === -1 ? text.length : pad;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let held = 0;
  let at = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? SEXTET[code]! : -1;
    if (value < 0) throw new RangeError(`not base64 at offset ${i}`);
    bits = (bits << 6) | value;
    held += 6;
    if (held >= 8) {
      held -= 8;
      out[at++] = (bits >> held) & 0xff;
    }
  }
  return at === out.length ? out : out.subarray(0, at);
}

/**
 * DSSE v1 pre-authentication encoding as plain bytes (`preAuthEncoding` in pae.ts is the node
 * Buffer form of the same bytes): `DSSEv1 SP len(type) SP type SP len(body) SP body`.
 */
export function preAuthEncodingBytes(payloadType: string, payload: Uint8Array): Uint8Array {
  const typeBytes = encoder.encode(payloadType);
  const prefix = encoder.encode(`DSSEv1 ${typeBytes.length} `);
  const middle = encoder.encode(` ${payload.length} `);
  const out = new Uint8Array(prefix.length + typeBytes.length + middle.length + payload.length);
  out.set(prefix, 0);
  out.set(typeBytes, prefix.length);
  out.set(middle, prefix.length + typeBytes.length);
  out.set(payload, prefix.length + typeBytes.length + middle.length);
  return out;
}

const REQUIRED_STRINGS = [
  'id',
  'source',
  'type',
  'subject',
  'time',
  'dataschema',
  'correlationid',
] as const;

/** Reads the CloudEvent a payload carries; its shape is checked, its claims are not. */
export function parseCloudEvent(payload: Uint8Array, claims: EnvelopeClaims): CloudEvent {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch (cause) {
    throw new EnvelopeError('ENVELOPE_MALFORMED', 'payload is not UTF-8 JSON', claims, { cause });
  }
  if (!isRecord(value) || value.specversion !== '1.0')
    throw malformed('payload is not a CloudEvent 1.0', claims);
  for (const key of REQUIRED_STRINGS) {
    if (typeof value[key] !== 'string' || value[key] === '')
      throw malformed(`CloudEvent ${key} missing`, claims);
  }
  if (value.datacontenttype !== 'application/json')
    throw malformed('datacontenttype must be application/json', claims);
  if (value.causationid !== undefined && typeof value.causationid !== 'string')
    throw malformed('causationid must be a string', claims);
  if (!('data' in value)) throw malformed('CloudEvent data missing', claims);
  if (Number.isNaN(Date.parse(value.time as string)))
    throw malformed('CloudEvent time is not a date', claims);
  return value as unknown as CloudEvent;
}

/** Copies what a signed event claims about itself into `claims` (for refusal records). */
export function recordClaims(claims: EnvelopeClaims, event: CloudEvent): void {
  Object.assign(claims, {
    source: event.source,
    type: event.type,
    subject: event.subject,
    id: event.id,
  });
}

/**
 * The checks after a good signature that every signed document passes: revocation (history
 * before the cut-off stays valid), certificate validity at the event time, and `source` equal to
 * the certificate's service.
 */
export function checkSignedClaims(
  event: CloudEvent,
  key: SignerFacts,
  revocation: Revocation | undefined,
  options: DeliveryContext,
  claims: EnvelopeClaims,
): void {
  if (
    revocation &&
    !(options.streamSeq !== undefined && options.streamSeq < revocation.effectiveFromSeq)
  ) {
    throw new EnvelopeError(
      'CERT_REVOKED',
      `certificate of ${key.service} was revoked: ${revocation.reason}`,
      claims,
    );
  }
  const eventTime = Date.parse(event.time);
  if (!(eventTime >= key.notBefore.getTime() && eventTime <= key.notAfter.getTime())) {
    throw new EnvelopeError(
      'CERT_EXPIRED',
      `event time ${event.time} is outside the certificate's validity`,
      claims,
    );
  }
  if (serviceOfSource(event.source) !== key.service) {
    throw new EnvelopeError(
      'SOURCE_MISMATCH',
      `source ${event.source} was signed by ${key.service}`,
      claims,
    );
  }
}

/**
 * The event rules after `checkSignedClaims`: a catalogue type, an emitter allowed to emit it,
 * the subject's aggregate (and, for `every-service` types, the emitter's own), the NATS subject it
 * was found on, the dataschema, the data against its schema, then the stored type header.
 * Returns the aggregate the subject names.
 */
export function checkEventRules(
  event: CloudEvent,
  key: SignerFacts,
  options: DeliveryContext,
  claims: EnvelopeClaims,
  schemaCheck: SchemaCheck,
): { type: string; id: string } {
  if (!isEventType(event.type)) {
    throw new EnvelopeError(
      'TYPE_UNKNOWN',
      `event type ${event.type} is not in the catalogue`,
      claims,
    );
  }
  if (!mayEmit(key.service, event.type)) {
    throw new EnvelopeError(
      'TYPE_NOT_AUTHORISED',
      `${key.service} may not emit ${event.type}`,
      claims,
    );
  }

  const def = catalogue[event.type];
  const aggregate = splitSubject(event.subject);
  if (!aggregate || aggregate.type !== def.aggregate) {
    throw new EnvelopeError(
      'SUBJECT_MISMATCH',
      `${event.type} belongs on ${def.aggregate}/<id>, not ${event.subject}`,
      claims,
    );
  }
  // Types every service emits live on the emitter's own aggregate only.
  if (AUTHORITY[event.type] === 'every-service' && aggregate.id !== key.service) {
    throw new EnvelopeError(
      'TYPE_NOT_AUTHORISED',
      `${key.service} may emit ${event.type} only on service/${key.service}`,
      claims,
    );
  }
  // An event replayed onto another subject is refused: the subject is part of what was signed.
  if (
    options.natsSubject !== undefined &&
    options.natsSubject !== eventSubject(aggregate.type, aggregate.id)
  ) {
    throw new EnvelopeError(
      'SUBJECT_MISMATCH',
      `signed for ${event.subject}, found on ${options.natsSubject}`,
      claims,
    );
  }
  if (event.dataschema !== dataschemaOf(def)) {
    throw new EnvelopeError(
      'SCHEMA_INVALID',
      `dataschema ${event.dataschema} is not ${dataschemaOf(def)}`,
      claims,
    );
  }
  const problems = schemaCheck(def, event.data);
  if (problems.length > 0) {
    throw new EnvelopeError(
      'SCHEMA_INVALID',
      `data of ${event.type} is invalid: ${problems.join('; ')}`,
      claims,
    );
  }
  // The same check the live consumers apply, so a whole-history verifier given the stored
  // header reaches the same verdict as they did.
  if (
    options.typeHeader !== undefined &&
    options.typeHeader !== '' &&
    options.typeHeader !== event.type
  ) {
    throw new EnvelopeError(
      'ENVELOPE_MALFORMED',
      `the type header says ${options.typeHeader}, the signed event is ${event.type}`,
      claims,
    );
  }
  return aggregate;
}

/** Ajv's errors as the verifiers report them: `path: message`. */
export function formatSchemaErrors(
  errors: readonly { instancePath: string; message?: string }[],
): string[] {
  return errors.map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`);
}

function splitSubject(subject: string): { type: string; id: string } | null {
  const slash = subject.indexOf('/');
  if (slash <= 0 || slash === subject.length - 1) return null;
  const type = subject.slice(0, slash);
  const id = subject.slice(slash + 1);
  // Aggregate ids become one NATS subject token: no dots, wildcards or whitespace.
  if (!/^[a-z][a-z0-9-]*$/.test(type) || !/^[A-Za-z0-9_:-]{1,128}$/.test(id)) return null;
  return { type, id };
}

function malformed(message: string, claims: EnvelopeClaims = {}): EnvelopeError {
  return new EnvelopeError('ENVELOPE_MALFORMED', message, claims);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
