/**
 * `@secai/contracts/web`: envelope verification for the browser (WebCrypto only; no `node:*`, no
 * Buffer, no Ajv compilation anywhere in this import graph). The rules are the node verifier's
 * (envelope/rules.ts, identity/certificateRules.ts); only the cryptography differs.
 */
export {
  loadWebTrustStore,
  WebTrustStore,
  type WebCryptoKey,
  type WebTrustedKey,
} from './trustStore.js';
export {
  decodePayloadWeb,
  verdictOf,
  verifyEnvelopeWeb,
  type Verdict,
  type WebVerifyOptions,
} from './verify.js';
export { setSchemaValidators, type SchemaValidator, type SchemaValidators } from './schemas.js';
export {
  GENESIS_HEAD,
  WebChainError,
  chainLinkWeb,
  entryDigestWeb,
  envelopeDigestWeb,
  linkHeadWeb,
  type WebChainErrorCode,
} from './chain.js';
export { parseEnvelope } from '../envelope/rules.js';
export { EnvelopeError, type EnvelopeClaims, type EnvelopeErrorCode } from '../envelope/errors.js';
export { IdentityError, type IdentityErrorCode } from '../identity/errors.js';
export type {
  CloudEvent,
  DeliveryContext,
  DsseEnvelope,
  VerifiedEvent,
} from '../envelope/types.js';
export type { Revocation } from '../envelope/revocation.js';
export type { TrustBundle, TrustBundleCertificate } from '../identity/bundle.js';
export { MAX_ENVELOPE_BYTES, PAYLOAD_TYPE } from '../envelope/types.js';
export { SERVICES, serviceOfSource, type ServiceName } from '../services.js';
// For reading verified events on the page: the catalogue's types and the decision records reader
// (both node-free).
export type { EventData, EventType } from '../events/index.js';
export {
  DECISION_EVENT_TYPES,
  decisionIdOf,
  decisionsIn,
  isDecisionEventType,
  parseDecisionId,
  type DecisionEventType,
  type DecisionRecord,
} from '../decisionRecords.js';
