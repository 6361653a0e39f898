import { createHash, verify as verifySignature } from 'node:crypto';
import { AUTHORITY, mayEmit } from '../authority.js';
import { catalogue, dataschemaOf, isEventType } from '../events/index.js';
import { schemaProblems } from '../events/validate.js';
import { serviceOfSource } from '../services.js';
import { eventSubject } from '../subjects.js';
import { EnvelopeError, type EnvelopeClaims } from './errors.js';
import { preAuthEncoding } from './pae.js';
import type { TrustedKey, TrustStore } from './trust.js';
import type { CloudEvent, DeliveryContext, DsseEnvelope, VerifiedEvent } from './types.js';
import { MAX_ENVELOPE_BYTES, PAYLOAD_TYPE } from './types.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface VerifyOptions extends DeliveryContext {
  maxBytes?: number;
}

/**
 * Verifies an envelope exactly as it arrived and returns the event it carries. The checks run in
 * the order ARCHITECTURE §3.3 gives: size, shape, key, signature over the PAE of the payload
 * bytes, revocation, source, authority, subject binding, schema, then the stored type header. Any failure throws an
 * `EnvelopeError` with a stable code; nothing from an unverified envelope is returned.
 */
export function verifyEnvelope(
  bytes: Uint8Array,
  trust: TrustStore,
  options: VerifyOptions = {},
): VerifiedEvent {
  const { event, envelope, key, claims } = verifySignedDocument(bytes, trust, options);
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
  const problems = schemaProblems(def.schema, event.data);
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
  return { event, envelope, signer: { service: key.service, keyid: key.keyid }, aggregate };
}

/** A signed document whose signature, signer, revocation state and source have been checked. */
export interface SignedDocument {
  event: CloudEvent;
  envelope: DsseEnvelope;
  key: TrustedKey;
  claims: EnvelopeClaims;
}

/**
 * The checks every signed document (event, command, reply) passes: size before parsing, DSSE
 * shape, known key, Ed25519 over the PAE of the payload bytes, CloudEvent shape, revocation,
 * certificate validity at the event time, and `source` equal to the certificate's service.
 */
export function verifySignedDocument(
  bytes: Uint8Array,
  trust: TrustStore,
  options: VerifyOptions = {},
): SignedDocument {
  const maxBytes = options.maxBytes ?? MAX_ENVELOPE_BYTES;
  if (bytes.length > maxBytes) {
    throw new EnvelopeError('TOO_LARGE', `envelope is ${bytes.length} bytes, limit ${maxBytes}`);
  }
  const envelope = parseEnvelope(bytes);
  const signature = envelope.signatures[0]!;
  const claims: EnvelopeClaims = { keyid: signature.keyid };

  const key = trust.lookup(signature.keyid);
  if (!key)
    throw new EnvelopeError(
      'KEY_UNKNOWN',
      `no trusted certificate has keyid ${signature.keyid}`,
      claims,
    );

  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const sig = Buffer.from(signature.sig, 'base64');
  if (!verifySignature(null, pae, key.publicKey, sig)) {
    throw new EnvelopeError('SIGNATURE_INVALID', 'signature does not match the payload', claims);
  }

  // From here the payload is what the key holder signed; what it claims must still be allowed.
  const event = parseCloudEvent(payload, claims);
  Object.assign(claims, {
    source: event.source,
    type: event.type,
    subject: event.subject,
    id: event.id,
  });

  const revocation = trust.revocation(key.keyid);
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
  return { event, envelope, key, claims };
}

/** `sha256:<hex>` of the envelope bytes, as recorded when an envelope is refused. */
export function envelopeDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
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

/** Reads the CloudEvent inside an envelope without verifying it (forensics, listings). */
export function decodePayload(envelope: DsseEnvelope): CloudEvent {
  return parseCloudEvent(Buffer.from(envelope.payload, 'base64'), {});
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

function parseCloudEvent(payload: Uint8Array, claims: EnvelopeClaims): CloudEvent {
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
