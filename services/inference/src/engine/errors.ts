import { BaseError } from '@secai/contracts';

/**
 * Why the engine refused or failed. The HTTP layer maps each code to one problem response:
 * - `NO_SEQUENCE`: every session slot of the model is in use (429/503 with Retry-After);
 * - `SEQUENCE_BUSY`: a second generation on a sequence that is still generating;
 * - `SEQUENCE_CLOSED`: the sequence was disposed;
 * - `MODEL_UNLOADED`: the model was unloaded (contained, removed) or the engine disposed;
 * - `PROMPT_TOO_LONG`: the rendered prompt does not fit the context (nothing is silently cut);
 * - `INVALID_REQUEST`: messages or tools that cannot be rendered (a tool result with no call,
 *   an unanswered call, an unknown forced tool, `jsonSchema` with tools the model may call);
 * - `INVALID_SCHEMA`: a JSON schema node-llama-cpp cannot turn into a grammar;
 * - `EMBEDDINGS_UNSUPPORTED`: the model cannot compute embeddings;
 * - `ABORTED`: an embedding request aborted by its caller or by unload (generations end with
 *   finishReason `aborted` instead);
 * - `BACKEND_UNAVAILABLE`: not even the CPU build of node-llama-cpp could be loaded;
 * - `LOAD_FAILED`: node-llama-cpp refused a verified file, or its context could not be made;
 * - `GENERATION_FAILED`: anything else node-llama-cpp threw while generating.
 */
export type EngineErrorCode =
  | 'NO_SEQUENCE'
  | 'SEQUENCE_BUSY'
  | 'SEQUENCE_CLOSED'
  | 'MODEL_UNLOADED'
  | 'PROMPT_TOO_LONG'
  | 'INVALID_REQUEST'
  | 'INVALID_SCHEMA'
  | 'EMBEDDINGS_UNSUPPORTED'
  | 'ABORTED'
  | 'BACKEND_UNAVAILABLE'
  | 'LOAD_FAILED'
  | 'GENERATION_FAILED';

export class EngineError extends BaseError<EngineErrorCode> {}

/** The problems `inference.model.refused` records. */
export type VerificationProblem =
  'mismatch' | 'size_mismatch' | 'missing' | 'unreadable' | 'not_a_regular_file';

export interface VerificationFailure {
  problem: VerificationProblem;
  /** `sha256:<hex>` the manifest lists. */
  expected: string;
  /** What the bytes hashed to; null when they were not hashed (missing, wrong size...). */
  actual: string | null;
  expectedSizeBytes: number;
  /** From fstat, or the bytes read when the file changed while it was hashed; null if unknown. */
  actualSizeBytes: number | null;
}

/** The stored file is not the trusted model: nothing was loaded. */
export class ModelVerificationError
  extends BaseError<'MODEL_VERIFICATION_FAILED'>
  implements VerificationFailure
{
  readonly problem: VerificationProblem;
  readonly expected: string;
  readonly actual: string | null;
  readonly expectedSizeBytes: number;
  readonly actualSizeBytes: number | null;

  constructor(name: string, failure: VerificationFailure, options?: { cause?: unknown }) {
    super(
      'MODEL_VERIFICATION_FAILED',
      `model ${name} refused (${failure.problem}): expected ${failure.expected}, ` +
        `${failure.expectedSizeBytes} bytes; found ${failure.actual ?? 'no digest'}, ` +
        `${failure.actualSizeBytes ?? 'unknown'} bytes`,
      options,
    );
    this.problem = failure.problem;
    this.expected = failure.expected;
    this.actual = failure.actual;
    this.expectedSizeBytes = failure.expectedSizeBytes;
    this.actualSizeBytes = failure.actualSizeBytes;
  }
}
