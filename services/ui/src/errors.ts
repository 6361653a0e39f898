import { BaseError } from '@secai/contracts';

export type UiErrorCode =
  // the request itself
  | 'HOST_REFUSED'
  | 'ORIGIN_REFUSED'
  | 'REQUEST_INVALID'
  | 'REQUEST_MALFORMED'
  | 'REQUEST_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  // sessions and CSRF
  | 'SESSION_REQUIRED'
  | 'SESSION_EXPIRED'
  | 'CSRF_INVALID'
  // first boot, login, passphrase change
  | 'NOT_CONFIGURED'
  | 'ALREADY_CONFIGURED'
  | 'SETUP_CODE_INVALID'
  | 'SETUP_UNAVAILABLE'
  | 'OPERATOR_INVALID'
  | 'PASSPHRASE_POLICY'
  | 'PASSPHRASE_INCORRECT'
  | 'CURRENT_PASSPHRASE_INCORRECT'
  | 'LOCKED_OUT'
  | 'AUTH_BUSY'
  // the bus and the services behind operator actions
  | 'BUS_UNAVAILABLE'
  | 'COMMAND_REFUSED'
  | 'TARGET_UNKNOWN'
  | 'SERVICE_ABSENT'
  | 'SERVICE_TIMEOUT'
  | 'SERVICE_REFUSED_UI'
  | 'INCIDENT_UNKNOWN'
  | 'EXPORT_UNAVAILABLE'
  | 'INTERNAL';

/** HTTP status of each code. */
export const ERROR_STATUS: Readonly<Record<UiErrorCode, number>> = {
  HOST_REFUSED: 421,
  ORIGIN_REFUSED: 403,
  REQUEST_INVALID: 400,
  REQUEST_MALFORMED: 400,
  REQUEST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  SESSION_REQUIRED: 401,
  SESSION_EXPIRED: 401,
  CSRF_INVALID: 403,
  NOT_CONFIGURED: 409,
  ALREADY_CONFIGURED: 409,
  SETUP_CODE_INVALID: 403,
  SETUP_UNAVAILABLE: 503,
  OPERATOR_INVALID: 400,
  PASSPHRASE_POLICY: 400,
  PASSPHRASE_INCORRECT: 401,
  CURRENT_PASSPHRASE_INCORRECT: 403,
  LOCKED_OUT: 429,
  AUTH_BUSY: 503,
  BUS_UNAVAILABLE: 503,
  COMMAND_REFUSED: 409,
  TARGET_UNKNOWN: 404,
  SERVICE_ABSENT: 503,
  SERVICE_TIMEOUT: 504,
  SERVICE_REFUSED_UI: 502,
  INCIDENT_UNKNOWN: 404,
  EXPORT_UNAVAILABLE: 502,
  INTERNAL: 500,
};

/** Every code, for the README check. */
export const UI_ERROR_CODES = Object.keys(ERROR_STATUS) as UiErrorCode[];

/** An expected refusal, answered as a problem document with this code (and Retry-After). */
export class UiError extends BaseError<UiErrorCode> {
  constructor(
    code: UiErrorCode,
    message: string,
    readonly details: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
