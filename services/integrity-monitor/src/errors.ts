import { BaseError, type DocumentProblem } from '@secai/contracts';

export const INTEGRITY_ERROR_CODES = [
  /** integrity.yaml is not strict YAML or does not satisfy its schema (`problems` lists each). */
  'CONFIG_INVALID',
  /** A path class holds more entries than a baseline may (`MAX_ENTRIES`). */
  'TOO_MANY_ENTRIES',
] as const;
export type IntegrityErrorCode = (typeof INTEGRITY_ERROR_CODES)[number];

/** A coded failure of the integrity monitor (expected negative outcomes are events instead). */
export class IntegrityError extends BaseError<IntegrityErrorCode> {
  /** For `CONFIG_INVALID`: every problem, in the shared shape (key path, code, message). */
  readonly problems: readonly DocumentProblem[];
  constructor(
    code: IntegrityErrorCode,
    message: string,
    options: { cause?: unknown; problems?: readonly DocumentProblem[] } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.problems = options.problems ?? [];
  }
}
