import { BaseError } from '../errors.js';

export type ConfigErrorCode =
  /** A required variable is unset or empty. */
  | 'CONFIG_MISSING'
  /** A variable is set to a value its service refuses. */
  | 'CONFIG_INVALID';

/** Names that may hold a secret: their values are never echoed in a message or a field. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSPHRASE|SEED|CREDENTIAL/iu;
export const REDACTED = '<redacted>';

/** Whether the value of `variable` must be kept out of messages and logs. */
export function isSecretVariable(variable: string): boolean {
  return SECRET_NAME.test(variable);
}

/**
 * The environment refuses to make a config: names the variable and the bad value, so the
 * operator knows what to fix without reading code. A service refuses to start on it.
 */
export class ConfigError extends BaseError<ConfigErrorCode> {
  /** The environment variable, e.g. `SECAI_HTTP_PORT`. */
  readonly variable: string;
  /** The value as given (`<redacted>` for secret-looking names; undefined when unset). */
  readonly value: string | undefined;

  /**
   * @param requirement what the value must be, completing "`<variable>` must be …"
   *   (e.g. `an integer in 1..65535`).
   */
  constructor(
    code: ConfigErrorCode,
    variable: string,
    value: string | undefined,
    requirement: string,
    options?: { cause?: unknown },
  ) {
    const shown = value === undefined ? undefined : isSecretVariable(variable) ? REDACTED : value;
    super(
      code,
      shown === undefined
        ? `${variable} is not set (it must be ${requirement})`
        : `${variable} must be ${requirement}, got ${shown === REDACTED ? REDACTED : JSON.stringify(shown)}`,
      options,
    );
    this.variable = variable;
    this.value = shown;
  }
}
