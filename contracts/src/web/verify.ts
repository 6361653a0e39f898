import { EnvelopeError, type EnvelopeClaims, type EnvelopeErrorCode } from '../envelope/errors.js';
import {
  BASE64,
  checkEventRules,
  checkSignedClaims,
  checkSize,
  decodeBase64,
  parseCloudEvent,
  parseEnvelope,
  preAuthEncodingBytes,
  recordClaims,
} from '../envelope/rules.js';
import type {
  CloudEvent,
  DeliveryContext,
  DsseEnvelope,
  VerifiedEvent,
} from '../envelope/types.js';
import { standaloneSchemaCheck, type SchemaValidators } from './schemas.js';
import type { WebCryptoKey, WebTrustStore } from './trustStore.js';

export interface WebVerifyOptions extends DeliveryContext {
  maxBytes?: number;
  /** Validators to use instead of the ones given to `setSchemaValidators`. */
  schemaValidators?: SchemaValidators;
}

/** What the page shows for one envelope: the verified event, or why it was refused. */
export type Verdict =
  | { ok: true; event: VerifiedEvent }
  | { ok: false; code: EnvelopeErrorCode; message: string; claims: EnvelopeClaims };

/**
 * The node `verifyEnvelope` in the browser: the same checks in the same order (size, shape, key,
 * Ed25519 over the DSSE PAE with WebCrypto, CloudEvent shape, revocation, validity, source, type,
 * authority, subject, dataschema, schema, type header), every one but the signature taken from
 * envelope/rules.ts, so the same bytes get the same `EnvelopeError` code.
 */
export async function verifyEnvelopeWeb(
  bytes: Uint8Array,
  trust: WebTrustStore,
  options: WebVerifyOptions = {},
): Promise<VerifiedEvent> {
  checkSize(bytes, options.maxBytes);
  const envelope = parseEnvelope(bytes);
  const signature = envelope.signatures[0]!;
  const claims: EnvelopeClaims = { keyid: signature.keyid };

  const key = trust.lookup(signature.keyid);
  if (!key) {
    throw new EnvelopeError(
      'KEY_UNKNOWN',
      `no trusted certificate has keyid ${signature.keyid}`,
      claims,
    );
  }
  const payload = decodeBase64(envelope.payload);
  const pae = preAuthEncodingBytes(envelope.payloadType, payload);
  if (!(await signatureHolds(key.publicKey, decodeBase64(signature.sig), pae))) {
    throw new EnvelopeError('SIGNATURE_INVALID', 'signature does not match the payload', claims);
  }

  // From here the payload is what the key holder signed; what it claims must still be allowed.
  const event = parseCloudEvent(payload, claims);
  recordClaims(claims, event);
  checkSignedClaims(event, key, trust.revocation(key.keyid), options, claims);
  const aggregate = checkEventRules(
    event,
    key,
    options,
    claims,
    standaloneSchemaCheck(options.schemaValidators),
  );
  return { event, envelope, signer: { service: key.service, keyid: key.keyid }, aggregate };
}

/**
 * `verifyEnvelopeWeb` as a value: a refusal becomes `{ ok: false, code, message, claims }` (the
 * claims are what the envelope says of itself, never to be shown as fact). Anything that is not
 * an `EnvelopeError` is a bug and is thrown.
 */
export async function verdictOf(
  bytes: Uint8Array,
  trust: WebTrustStore,
  options: WebVerifyOptions = {},
): Promise<Verdict> {
  try {
    return { ok: true, event: await verifyEnvelopeWeb(bytes, trust, options) };
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return { ok: false, code: error.code, message: error.message, claims: error.claims };
  }
}

/**
 * Reads the CloudEvent inside an envelope without verifying it, to show what a refused envelope
 * claims (labelled as a claim, never rendered as fact). Throws ENVELOPE_MALFORMED.
 */
export function decodePayloadWeb(envelope: DsseEnvelope): CloudEvent {
  if (typeof envelope.payload !== 'string' || !BASE64.test(envelope.payload)) {
    throw new EnvelopeError('ENVELOPE_MALFORMED', 'payload must be base64');
  }
  return parseCloudEvent(decodeBase64(envelope.payload), {});
}

async function signatureHolds(
  publicKey: WebCryptoKey,
  signature: Uint8Array,
  pae: Uint8Array,
): Promise<boolean> {
  try {
    return await globalThis.crypto.subtle.verify(
      'Ed25519',
      publicKey,
      new Uint8Array(signature),
      new Uint8Array(pae),
    );
  } catch {
    // WebCrypto rejects rather than answers false for some malformed signatures: still a no.
    return false;
  }
}
