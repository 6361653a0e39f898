import { BaseError } from '@secai/contracts';

export type BundleErrorCode = 'BUNDLE_MALFORMED' | 'BUNDLE_UNREADABLE' | 'BUNDLE_NOT_FILE';

/** A bundle file that cannot be read, or whose lines do not have the bundle's shape. */
export class BundleError extends BaseError<BundleErrorCode> {
  /** 1-based line of the problem (1 is the header), null when it concerns the whole file. */
  readonly lineNo: number | null;
  constructor(
    code: BundleErrorCode,
    message: string,
    options: { lineNo?: number; cause?: unknown } = {},
  ) {
    super(code, options.lineNo === undefined ? message : `line ${options.lineNo}: ${message}`, {
      cause: options.cause,
    });
    this.lineNo = options.lineNo ?? null;
  }
}
