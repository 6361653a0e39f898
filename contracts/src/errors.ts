/**
 * One base class for every coded error in the appliance (sigstore-js `BaseError`): a stable
 * `code` that tests and callers match on, a human message, and the lower error as `cause`.
 */
export class BaseError<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export type ValidationErrorCode = 'VALIDATION_FAILED';
/** Input that does not satisfy a schema; `fields` lists every offending path at once. */
export class ValidationError extends BaseError<ValidationErrorCode> {
  readonly fields: readonly string[];
  constructor(message: string, fields: readonly string[], options?: { cause?: unknown }) {
    super('VALIDATION_FAILED', message, options);
    this.fields = fields;
  }
}

export type ConcurrencyErrorCode = 'CONCURRENCY_CONFLICT';
/** The aggregate moved on since it was read: re-read, re-decide, retry. */
export class ConcurrencyError extends BaseError<ConcurrencyErrorCode> {
  readonly expected: number;
  constructor(expected: number, message: string, options?: { cause?: unknown }) {
    super('CONCURRENCY_CONFLICT', message, options);
    this.expected = expected;
  }
}

export type IllegalStateErrorCode = 'ILLEGAL_STATE';
/** A command that the current state does not allow (a broken invariant, not an outcome). */
export class IllegalStateError extends BaseError<IllegalStateErrorCode> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ILLEGAL_STATE', message, options);
  }
}
