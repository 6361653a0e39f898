import { BaseError, type ToolCallStageName } from '@secai/contracts';

export type ToolFirewallErrorCode =
  // validation (400), refused before anything is asked or opened
  | 'TOOL_NAME_INVALID'
  | 'ARGUMENTS_INVALID'
  | 'ARGUMENT_UNDECLARED'
  | 'ARGUMENT_DANGEROUS'
  | 'ARGUMENT_INVALID'
  | 'PATH_ENCODING'
  | 'PATH_INVALID'
  | 'TOOL_UNKNOWN'
  // rate limit
  | 'RATE_LIMITED'
  // policy
  | 'TOOL_DENIED'
  | 'POLICY_UNAVAILABLE'
  // paths, after the policy allowed them
  | 'PATH_ESCAPE'
  | 'PATH_OUTSIDE_WORKSPACE'
  | 'PATH_NOT_FOUND'
  | 'PATH_KIND'
  | 'PATH_UNREADABLE'
  // the call itself
  | 'CALL_ID_REUSED'
  | 'NOT_RECORDED'
  | 'FILE_TOO_LARGE'
  | 'TOOL_FAILED';

/** HTTP status of each code. */
export const ERROR_STATUS: Readonly<Record<ToolFirewallErrorCode, number>> = {
  TOOL_NAME_INVALID: 400,
  ARGUMENTS_INVALID: 400,
  ARGUMENT_UNDECLARED: 400,
  ARGUMENT_DANGEROUS: 400,
  ARGUMENT_INVALID: 400,
  PATH_ENCODING: 400,
  PATH_INVALID: 400,
  TOOL_UNKNOWN: 404,
  RATE_LIMITED: 429,
  TOOL_DENIED: 403,
  POLICY_UNAVAILABLE: 503,
  PATH_ESCAPE: 403,
  PATH_OUTSIDE_WORKSPACE: 403,
  PATH_NOT_FOUND: 404,
  PATH_KIND: 409,
  PATH_UNREADABLE: 403,
  CALL_ID_REUSED: 409,
  NOT_RECORDED: 503,
  FILE_TOO_LARGE: 413,
  TOOL_FAILED: 500,
};

/** Every code, for the README check and the CLI. */
export const TOOL_FIREWALL_ERROR_CODES = Object.keys(ERROR_STATUS) as ToolFirewallErrorCode[];

/**
 * An expected refusal or failure of one call, answered as a problem document with this code.
 * `stage` is where a refusal stopped (recorded as `tool.call.denied`); a failure of an allowed
 * call has none (recorded as `tool.call.failed`).
 */
export class ToolFirewallError extends BaseError<ToolFirewallErrorCode> {
  constructor(
    code: ToolFirewallErrorCode,
    message: string,
    readonly details: {
      stage?: ToolCallStageName;
      /** Seconds for `Retry-After` (rate limit, no policy). */
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** A refusal at `stage` (validation, rate limit, policy, path). */
export function refusal(
  stage: ToolCallStageName,
  code: ToolFirewallErrorCode,
  message: string,
  extra: { retryAfterSeconds?: number; cause?: unknown } = {},
): ToolFirewallError {
  return new ToolFirewallError(code, message, { ...extra, stage });
}
