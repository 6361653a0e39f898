import { BaseError } from '@secai/contracts';

export type InferenceErrorCode =
  | 'MODEL_UNKNOWN'
  | 'MODEL_AMBIGUOUS'
  | 'MODEL_NOT_AVAILABLE'
  | 'MODEL_NOT_LOADED'
  | 'MODEL_CONTAINED'
  | 'MODEL_VERIFICATION_FAILED'
  | 'POLICY_UNAVAILABLE'
  | 'QUEUE_FULL'
  | 'SESSION_LIMIT'
  | 'SESSION_UNKNOWN'
  | 'TIMEOUT'
  | 'BUSY'
  | 'SESSION_CONFLICT'
  | 'EMBEDDINGS_UNSUPPORTED'
  | 'REQUEST_UNSUPPORTED'
  | 'PROMPT_TOO_LONG'
  | 'SCHEMA_UNSUPPORTED'
  | 'KEY_EXISTS'
  | 'KEY_UNKNOWN'
  | 'GENERATION_FAILED';

/** HTTP status of each code, and whether the client is told when to retry. */
export const ERROR_STATUS: Readonly<Record<InferenceErrorCode, number>> = {
  MODEL_UNKNOWN: 404,
  MODEL_AMBIGUOUS: 409,
  MODEL_NOT_AVAILABLE: 409,
  MODEL_NOT_LOADED: 409,
  MODEL_CONTAINED: 409,
  MODEL_VERIFICATION_FAILED: 409,
  POLICY_UNAVAILABLE: 503,
  QUEUE_FULL: 429,
  SESSION_LIMIT: 429,
  SESSION_UNKNOWN: 404,
  TIMEOUT: 504,
  BUSY: 503,
  SESSION_CONFLICT: 409,
  EMBEDDINGS_UNSUPPORTED: 400,
  REQUEST_UNSUPPORTED: 400,
  PROMPT_TOO_LONG: 400,
  SCHEMA_UNSUPPORTED: 400,
  KEY_EXISTS: 409,
  KEY_UNKNOWN: 404,
  GENERATION_FAILED: 500,
};

/** An expected refusal, answered as a problem document with this code. */
export class InferenceError extends BaseError<InferenceErrorCode> {
  constructor(
    code: InferenceErrorCode,
    message: string,
    /** Seconds for `Retry-After` (limits and unavailable policy). */
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
