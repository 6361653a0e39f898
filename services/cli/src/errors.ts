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
  | 'TIMEOUT'
  /** The state dir (or a file in it) exists but this user may not read it (EACCES, EPERM). */
  | 'STATE_DIR_DENIED'
  /** A component of the state dir path is a file, not a directory (ENOTDIR, EISDIR). */
  | 'STATE_DIR_NOT_DIRECTORY'
  /** Any other I/O failure reading the state dir (EIO, ELOOP, ...): the message names errno. */
  | 'STATE_DIR_UNREADABLE'
  /** `run/runtime.json` is there but is not what `secai boot` writes. */
  | 'RUNTIME_INFO_INVALID'
  /** The bus answered but refused this state dir's `cli` credentials (another appliance's bus, a revoked identity). */
  | 'BUS_REFUSED'
  /** An HTTP gateway was reached (or not) but the request failed for another reason than "nothing listens". */
  | 'GATEWAY_FAILED';

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
