import { BaseError } from '@secai/contracts';

export type ApplianceErrorCode =
  | 'ALREADY_RUNNING'
  | 'STATE_DIR_UNUSABLE'
  | 'NATS_START_FAILED'
  | 'SERVICE_START_FAILED'
  | 'ATTESTATION_UNSATISFIED'
  | 'DEPENDENCY_CYCLE'
  | 'REVOCATION_REFUSED'
  /** The appliance's nats-server crashed more often than the restart policy allows. */
  | 'BUS_FAILED'
  /** The certificate is revoked but the identity's NATS user could not be removed or confirmed gone. */
  | 'BUS_ACCESS_NOT_REVOKED'
  /** The bus is an external deployment (`natsUrl`): its users are not the appliance's to change. */
  | 'BUS_ACCESS_UNMANAGED';

export class ApplianceError extends BaseError<ApplianceErrorCode> {}
