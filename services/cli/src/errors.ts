import { BaseError } from '@secai/contracts';

export type CliErrorCode =
  | 'USAGE'
  | 'NOT_RUNNING'
  | 'VERIFICATION_FAILED'
  | 'REPLAY_MISMATCH'
  | 'EXPORT_FAILED'
  | 'UNKNOWN_PROJECTION'
  | 'POLICY_INVALID'
  | 'MODEL_UNKNOWN'
  | 'MODEL_REJECTED'
  | 'REFUSED'
  | 'TIMEOUT';

/** A CLI failure: printed as `secai: <code>: <message>`, exit 1 for failed checks, 2 otherwise. */
export class CliError extends BaseError<CliErrorCode> {
  get exitCode(): number {
    return this.code === 'VERIFICATION_FAILED' ||
      this.code === 'REPLAY_MISMATCH' ||
      this.code === 'POLICY_INVALID' ||
      this.code === 'MODEL_REJECTED'
      ? 1
      : 2;
  }
}
