export type {
  CloudEvent,
  DeliveryContext,
  DsseEnvelope,
  DsseSignature,
  Signer,
  VerifiedEvent,
} from './types.js';
export { MAX_ENVELOPE_BYTES, PAYLOAD_TYPE } from './types.js';
export { preAuthEncoding } from './pae.js';
export { EnvelopeError, type EnvelopeClaims, type EnvelopeErrorCode } from './errors.js';
export type { Revocation, TrustStore, TrustedKey } from './trust.js';
export {
  encodeEnvelope,
  signDocument,
  signEvent,
  signEventJson,
  toCloudEvent,
  type DraftEvent,
  type DraftEventJson,
  type EventMetadata,
} from './sign.js';
export {
  decodePayload,
  envelopeDigest,
  parseEnvelope,
  verifyEnvelope,
  verifySignedDocument,
  type SignedDocument,
  type VerifyOptions,
} from './verify.js';
export { signCommand, verifyCommand, type CommandDirection } from './command.js';
