import { availableParallelism } from 'node:os';
import {
  BaseError,
  loadTrustStore,
  type EnvelopeErrorCode,
  type TrustBundle,
} from '@secai/contracts';
import {
  WorkerPool,
  compiledWorkerUrl,
  positiveInteger,
  type WorkerPoolErrorFactory,
} from './workerPool.js';

export { compiledExecArgv } from './workerPool.js';

export type VerifierPoolErrorCode =
  'VERIFIER_WORKER_MISSING' | 'VERIFIER_WORKER_FAILED' | 'VERIFIER_CLOSED';

/** The pool itself failed (never an envelope refusal: those are results). */
export class VerifierPoolError extends BaseError<VerifierPoolErrorCode> {}

/** One stored envelope to verify: its stream sequence, the NATS subject it was found on, its bytes. */
export interface VerifyEntry {
  seq: number;
  /** When given, the envelope must belong on this subject (as `verifyEnvelope`'s `natsSubject`). */
  subject?: string | undefined;
  bytes: Uint8Array;
}

/** Outcome of one entry, in input order: the verified event type, or the refusal code. */
export type VerifyResult =
  { seq: number; ok: true; type: string } | { seq: number; ok: false; code: EnvelopeErrorCode };

export interface VerifierPoolOptions {
  /** Worker threads (default `os.availableParallelism()`). */
  size?: number;
  /** Time at which the bundle's certificates are checked when loaded (default: now). */
  now?: Date;
  /** Largest job sent to one thread; longer inputs are split (default 512). */
  batchSize?: number;
}

/** @internal What each worker starts from. */
export interface WorkerData {
  bundle: TrustBundle;
  now: number;
}

/** @internal One job: the envelopes packed into one transferred buffer, `offsets` has n + 1 entries. */
export interface VerifyJob {
  bytes: Uint8Array;
  offsets: Uint32Array;
  seqs: Float64Array;
  subjects: (string | null)[] | null;
}

/** @internal A worker's answer to one job. `labels[i]` is the event type when `ok[i]`, else the code. */
export interface VerifyReply {
  ok: Uint8Array;
  labels: string[];
}

export const DEFAULT_VERIFY_BATCH = 512;

const WORKER = 'verifyWorker.js';
const LABEL = 'verifier';
const CODES = {
  missing: 'VERIFIER_WORKER_MISSING',
  failed: 'VERIFIER_WORKER_FAILED',
  closed: 'VERIFIER_CLOSED',
} as const satisfies Record<string, VerifierPoolErrorCode>;
const verifierError: WorkerPoolErrorFactory<VerifierPoolError> = (kind, message, options) =>
  new VerifierPoolError(CODES[kind], message, options);

/**
 * The compiled worker next to this module. Under vitest this module runs from `src/*.ts` while
 * worker threads run plain node, so the worker is taken from `dist/` (built by `npm run build`).
 */
export function verifyWorkerUrl(): URL {
  return compiledWorkerUrl(WORKER, LABEL, verifierError);
}

/**
 * Verifies envelopes on worker threads (ARCHITECTURE §3.3 checks, exactly `verifyEnvelope`), for
 * replays and `events verify --signatures` where one core is the bottleneck. Each thread holds its
 * own trust store built from the bundle; batches travel as one transferred buffer, results come
 * back in input order. A refused envelope is a result (`ok: false` with its code); a crashed
 * thread fails the pool.
 * @example
 * const pool = await VerifierPool.create(bundle);
 * try {
 *   const results = await pool.verifyBatch(entries); // [{ seq, ok: true, type }, ...]
 * } finally {
 *   await pool.close();
 * }
 */
export class VerifierPool {
  readonly size: number;
  readonly batchSize: number;
  readonly #pool: WorkerPool<VerifyJob, VerifyReply, VerifierPoolError>;

  private constructor(
    pool: WorkerPool<VerifyJob, VerifyReply, VerifierPoolError>,
    batchSize: number,
  ) {
    this.#pool = pool;
    this.size = pool.size;
    this.batchSize = batchSize;
  }

  /**
   * Checks the bundle (throwing its `IdentityError` here, in the caller's thread), then starts
   * `size` threads that each load it and reports once all of them are ready.
   */
  static async create(
    bundle: TrustBundle,
    options: VerifierPoolOptions = {},
  ): Promise<VerifierPool> {
    const size = positiveInteger('pool size', options.size ?? availableParallelism());
    const batchSize = positiveInteger('batch size', options.batchSize ?? DEFAULT_VERIFY_BATCH);
    const now = options.now ?? new Date();
    await loadTrustStore(bundle, { now });
    const workerData: WorkerData = { bundle, now: now.getTime() };
    const pool = await WorkerPool.start<VerifyJob, VerifyReply, VerifierPoolError>({
      worker: WORKER,
      label: LABEL,
      size,
      workerData,
      error: verifierError,
    });
    return new VerifierPool(pool, batchSize);
  }

  /**
   * Verifies `entries` and returns one result per entry, in input order. Inputs longer than
   * `batchSize` are split across the threads.
   */
  async verifyBatch(entries: readonly VerifyEntry[]): Promise<VerifyResult[]> {
    if (this.#pool.failure) throw this.#pool.failure;
    if (entries.length <= this.batchSize) {
      return entries.length === 0 ? [] : this.#dispatch(entries);
    }
    const jobs: Promise<VerifyResult[]>[] = [];
    for (let i = 0; i < entries.length; i += this.batchSize) {
      jobs.push(this.#dispatch(entries.slice(i, i + this.batchSize)));
    }
    return (await Promise.all(jobs)).flat();
  }

  /** Jobs sent to the threads and not answered yet. */
  get inFlight(): number {
    return this.#pool.inFlight;
  }

  /** Stops every thread; jobs in flight are rejected with `VERIFIER_CLOSED`. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  async #dispatch(entries: readonly VerifyEntry[]): Promise<VerifyResult[]> {
    if (this.#pool.failure) throw this.#pool.failure;
    const count = entries.length;
    let total = 0;
    for (const entry of entries) total += entry.bytes.byteLength;
    const bytes = new Uint8Array(total);
    const offsets = new Uint32Array(count + 1);
    const seqs = new Float64Array(count);
    let subjects: (string | null)[] | null = null;
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const entry = entries[i]!;
      bytes.set(entry.bytes, offset);
      offsets[i] = offset;
      offset += entry.bytes.byteLength;
      seqs[i] = entry.seq;
      if (entry.subject !== undefined) {
        subjects ??= new Array<string | null>(count).fill(null);
        subjects[i] = entry.subject;
      }
    }
    offsets[count] = offset;

    const job: VerifyJob = { bytes, offsets, seqs, subjects };
    const reply = await this.#pool.run(job, [bytes.buffer, offsets.buffer, seqs.buffer]);
    const results = new Array<VerifyResult>(count);
    for (let i = 0; i < count; i++) {
      const seq = entries[i]!.seq;
      const label = reply.labels[i]!;
      results[i] =
        reply.ok[i] === 1
          ? { seq, ok: true, type: label }
          : { seq, ok: false, code: label as EnvelopeErrorCode };
    }
    return results;
  }
}
