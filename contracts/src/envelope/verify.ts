import { createHash, verify as verifySignature } from 'node:crypto';
import { schemaProblems } from '../events/validate.js';
import type { EnvelopeClaims } from './errors.js';
import { EnvelopeError } from './errors.js';
import { preAuthEncoding } from './pae.js';
import {
  checkEventRules,
  checkSignedClaims,
  checkSize,
  parseCloudEvent,
  parseEnvelope,
  recordClaims,
  type SchemaCheck,
} from './rules.js';
import type { TrustedKey, TrustStore } from './trust.js';
import type { CloudEvent, DeliveryContext, DsseEnvelope, VerifiedEvent } from './types.js';

export { parseEnvelope } from './rules.js';

export interface VerifyOptions extends DeliveryContext {
  maxBytes?: number;
}

const schemaCheck: SchemaCheck = (definition, data) => schemaProblems(definition.schema, data);

/**
 * Verifies an envelope exactly as it arrived and returns the event it carries. The checks run in
 * the order ARCHITECTURE §3.3 gives: size, shape, key, signature over the PAE of the payload
 * bytes, revocation, source, authority, subject binding, schema, then the stored type header. Any failure throws an
 * `EnvelopeError` with a stable code; nothing from an unverified envelope is returned. Every
 * rule but the signature lives in rules.ts, shared with the browser verifier (web/verify.ts).
 */
export function verifyEnvelope(
  bytes: Uint8Array,
  trust: TrustStore,
  options: VerifyOptions = {},
): VerifiedEvent {
  const { event, envelope, key, claims } = verifySignedDocument(bytes, trust, options);
  const aggregate = checkEventRules(event, key, options, claims, schemaCheck);
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
  checkSize(bytes, options.maxBytes);
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

  // Buffer's decoder here (the hot path); rules.ts decodeBase64 gives the same bytes elsewhere.
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const sig = Buffer.from(signature.sig, 'base64');
  if (!verifySignature(null, pae, key.publicKey, sig)) {
    throw new EnvelopeError('SIGNATURE_INVALID', 'signature does not match the payload', claims);
  }

  // From here the payload is what the key holder signed; what it claims must still be allowed.
  const event = parseCloudEvent(payload, claims);
  recordClaims(claims, event);
  checkSignedClaims(event, key, trust.revocation(key.keyid), options, claims);
  return { event, envelope, key, claims };
}

/** `sha256:<hex>` of the envelope bytes, as recorded when an envelope is refused. */
export function envelopeDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Reads the CloudEvent inside an envelope without verifying it (forensics, listings). */
export function decodePayload(envelope: DsseEnvelope): CloudEvent {
  return parseCloudEvent(Buffer.from(envelope.payload, 'base64'), {});
}
