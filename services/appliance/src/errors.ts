import { BaseError } from '@secai/contracts';

export type ApplianceErrorCode =
  | 'ALREADY_RUNNING'
  | 'STATE_DIR_UNUSABLE'
  | 'NATS_START_FAILED'
  | 'SERVICE_START_FAILED'
  | 'ATTESTATION_UNSATISFIED'
  | 'DEPENDENCY_CYCLE'
  | 'REVOCATION_REFUSED';

export class ApplianceError extends BaseError<ApplianceErrorCode> {}
