import { BaseError } from '../errors.js';

export type EnvelopeErrorCode =
  | 'TOO_LARGE'
  | 'ENVELOPE_MALFORMED'
  | 'KEY_UNKNOWN'
  | 'SIGNATURE_INVALID'
  | 'CERT_REVOKED'
  | 'CERT_EXPIRED'
  | 'SOURCE_MISMATCH'
  | 'SUBJECT_MISMATCH'
  | 'TYPE_UNKNOWN'
  | 'TYPE_NOT_AUTHORISED'
  | 'SCHEMA_INVALID';

/** Every reason an envelope is refused. Consumers `term` the message and record the code. */
export class EnvelopeError extends BaseError<EnvelopeErrorCode> {
  /** Claims read from the envelope before it was refused (untrusted, for the audit record). */
  readonly claims: EnvelopeClaims;
  constructor(
    code: EnvelopeErrorCode,
    message: string,
    claims: EnvelopeClaims = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.claims = claims;
  }
}

export interface EnvelopeClaims {
  keyid?: string;
  source?: string;
  type?: string;
  subject?: string;
  id?: string;
}
