import { BaseError } from '@secai/contracts';

export type StreamErrorCode =
  | 'NATS_SERVER_MISSING'
  | 'NATS_SERVER_FAILED'
  | 'NATS_UNREACHABLE'
  | 'CREDENTIALS_MISSING'
  | 'APPEND_FAILED'
  | 'TRUST_UNAVAILABLE'
  | 'COMMAND_FAILED'
  | 'COMMAND_TIMEOUT'
  /** Nothing subscribes to the command's subject: its handler does not run in this appliance. */
  | 'COMMAND_TARGET_ABSENT';

export class StreamError extends BaseError<StreamErrorCode> {}
