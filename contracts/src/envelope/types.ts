/** The DSSE payload type of every envelope: the payload is a CloudEvents 1.0 JSON document. */
export const PAYLOAD_TYPE = 'application/cloudevents+json';

/** Default upper bound for one envelope, checked before any parsing. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

export interface DsseSignature {
  /** SHA-256 fingerprint (hex) of the signer's DER certificate. */
  keyid: string;
  /** Base64 Ed25519 signature over the DSSE pre-authentication encoding. */
  sig: string;
}

/** A DSSE envelope as stored on the bus (JSON, UTF-8). */
export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the exact CloudEvent bytes that were signed. */
  payload: string;
  signatures: DsseSignature[];
}

/**
 * A CloudEvents 1.0 document (JSON format). `correlationid` and `causationid` are extension
 * attributes (CloudEvents requires lowercase alphanumeric names) that let a chain of
 * consequences be followed from its first cause.
 */
export interface CloudEvent<Data = unknown, Type extends string = string> {
  specversion: '1.0';
  id: string;
  /** `secai://<service>` */
  source: string;
  type: Type;
  /** `<aggregateType>/<aggregateId>` */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  /** `urn:secai:<kind>:<type>:v<version>` */
  dataschema: string;
  data: Data;
  correlationid: string;
  causationid?: string;
}

/** Signs bytes. Ed25519 through node:crypto; a literal object in tests. */
export interface Signer {
  /** Service whose certificate holds the public key. */
  readonly service: string;
  readonly keyid: string;
  sign(bytes: Uint8Array): Uint8Array;
}

/** Where a message was found, so the verifier can bind it to its place in history. */
export interface DeliveryContext {
  /** The NATS subject the message was published on. */
  natsSubject?: string;
  /** Its stream sequence (used for revocation cut-offs). */
  streamSeq?: number;
  /**
   * The type header it was stored with (`Secai-Type`), when there is one: it must name the
   * signed type. Readers that do not verify route on it, so one that lies is tampering.
   */
  typeHeader?: string;
}

/** What a consumer may rely on once `verify` returned. */
export interface VerifiedEvent<Data = unknown> {
  event: CloudEvent<Data>;
  envelope: DsseEnvelope;
  signer: { service: string; keyid: string };
  aggregate: { type: string; id: string };
}
