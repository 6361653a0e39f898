import { BaseError } from '../errors.js';

export type IdentityErrorCode =
  | 'CERT_CHAIN_INVALID'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_EXPIRED'
  | 'CERT_SERVICE_MISSING'
  | 'IDENTITY_MISSING'
  | 'IDENTITY_CORRUPT'
  | 'KEY_PERMISSIONS';

/**
 * Why trust material or a service identity was refused. The message names the service (or
 * `root`) concerned; callers fail closed on every code.
 */
export class IdentityError extends BaseError<IdentityErrorCode> {}
