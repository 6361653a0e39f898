import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  BaseError,
  loadTrustStore,
  type EnvelopeErrorCode,
  type TrustBundle,
} from '@secai/contracts';

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
  id: number;
  bytes: Uint8Array;
  offsets: Uint32Array;
  seqs: Float64Array;
  subjects: (string | null)[] | null;
}

/** @internal Messages from a worker. `labels[i]` is the event type when `ok[i]`, else the code. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; ok: Uint8Array; labels: string[] }
  | { kind: 'error'; id: number; message: string };

export const DEFAULT_VERIFY_BATCH = 512;

interface Slot {
  worker: Worker;
  inFlight: number;
}

interface Pending {
  slot: Slot;
  entries: readonly VerifyEntry[];
  resolve: (results: VerifyResult[]) => void;
  reject: (error: Error) => void;
}

/**
 * The compiled worker next to this module. Under vitest this module runs from `src/*.ts` while
 * worker threads run plain node, so the worker is taken from `dist/` (built by `npm run build`).
 */
export function verifyWorkerUrl(): URL {
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  const url = new URL(
    fromSource ? '../dist/verifyWorker.js' : './verifyWorker.js',
    import.meta.url,
  );
  if (!existsSync(url)) {
    throw new VerifierPoolError(
      'VERIFIER_WORKER_MISSING',
      `${fileURLToPath(url)} is missing: run \`npm run build\` first (verifier threads run the compiled worker)`,
    );
  }
  return url;
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
  readonly #slots: Slot[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #next = 0;
  #failure: VerifierPoolError | null = null;

  private constructor(slots: Slot[], batchSize: number) {
    this.#slots = slots;
    this.size = slots.length;
    this.batchSize = batchSize;
    for (const slot of slots) {
      slot.worker.on('message', (reply: WorkerReply) => this.#onReply(reply));
      slot.worker.on('error', (error) =>
        this.#fail(
          new VerifierPoolError('VERIFIER_WORKER_FAILED', 'a verifier thread crashed', {
            cause: error,
          }),
        ),
      );
      slot.worker.on('exit', (code) =>
        this.#fail(
          new VerifierPoolError('VERIFIER_WORKER_FAILED', `a verifier thread exited (${code})`),
        ),
      );
      // Idle threads do not keep the process alive; a thread with work in flight does.
      slot.worker.unref();
    }
  }

  /**
   * Checks the bundle (throwing its `IdentityError` here, in the caller's thread), then starts
   * `size` threads that each load it and reports once all of them are ready.
   */
  static async create(
    bundle: TrustBundle,
    options: VerifierPoolOptions = {},
  ): Promise<VerifierPool> {
    const size = options.size ?? availableParallelism();
    const batchSize = options.batchSize ?? DEFAULT_VERIFY_BATCH;
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(`pool size ${String(size)} is not a positive integer`);
    }
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batch size ${String(batchSize)} is not a positive integer`);
    }
    const now = options.now ?? new Date();
    await loadTrustStore(bundle, { now });
    const url = verifyWorkerUrl();
    const data: WorkerData = { bundle, now: now.getTime() };
    const starting = Array.from({ length: size }, () => startWorker(url, data));
    const started = await Promise.allSettled(starting);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(
        started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.terminate()] : [])),
      );
      throw new VerifierPoolError('VERIFIER_WORKER_FAILED', 'a verifier thread did not start', {
        cause: failed.reason,
      });
    }
    const workers = started.map((s) => (s as PromiseFulfilledResult<Worker>).value);
    return new VerifierPool(
      workers.map((worker) => ({ worker, inFlight: 0 })),
      batchSize,
    );
  }

  /**
   * Verifies `entries` and returns one result per entry, in input order. Inputs longer than
   * `batchSize` are split across the threads.
   */
  async verifyBatch(entries: readonly VerifyEntry[]): Promise<VerifyResult[]> {
    if (this.#failure) throw this.#failure;
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
    return this.#pending.size;
  }

  /** Stops every thread; jobs in flight are rejected with `VERIFIER_CLOSED`. */
  async close(): Promise<void> {
    if (this.#failure?.code === 'VERIFIER_CLOSED') return;
    this.#fail(new VerifierPoolError('VERIFIER_CLOSED', 'the verifier pool is closed'));
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(entries: readonly VerifyEntry[]): Promise<VerifyResult[]> {
    if (this.#failure) return Promise.reject(this.#failure);
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

    const slot = this.#pick();
    const id = ++this.#nextId;
    const job: VerifyJob = { id, bytes, offsets, seqs, subjects };
    return new Promise<VerifyResult[]>((resolve, reject) => {
      this.#pending.set(id, { slot, entries, resolve, reject });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage(job, [bytes.buffer, offsets.buffer, seqs.buffer]);
    });
  }

  /** The thread with the fewest jobs in flight (round robin among equals). */
  #pick(): Slot {
    const n = this.#slots.length;
    let best = this.#slots[this.#next % n]!;
    for (let k = 1; k < n && best.inFlight > 0; k++) {
      const slot = this.#slots[(this.#next + k) % n]!;
      if (slot.inFlight < best.inFlight) best = slot;
    }
    this.#next = (this.#next + 1) % n;
    return best;
  }

  #onReply(reply: WorkerReply): void {
    if (reply.kind !== 'result' && reply.kind !== 'error') return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    const { slot, entries } = pending;
    if (--slot.inFlight === 0) slot.worker.unref();
    if (reply.kind === 'error') {
      pending.reject(
        new VerifierPoolError('VERIFIER_WORKER_FAILED', `verifier thread: ${reply.message}`),
      );
      return;
    }
    const results = new Array<VerifyResult>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const seq = entries[i]!.seq;
      const label = reply.labels[i]!;
      results[i] =
        reply.ok[i] === 1
          ? { seq, ok: true, type: label }
          : { seq, ok: false, code: label as EnvelopeErrorCode };
    }
    pending.resolve(results);
  }

  #fail(error: VerifierPoolError): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
    for (const slot of this.#slots) {
      slot.inFlight = 0;
      slot.worker.unref();
    }
    // A crashed thread leaves the others running: stop them, the pool is unusable now.
    if (error.code !== 'VERIFIER_CLOSED') {
      for (const slot of this.#slots) void slot.worker.terminate();
    }
  }
}

/** Starts one thread and waits for its `ready` (or its failure to load the bundle). */
function startWorker(url: URL, workerData: WorkerData): Promise<Worker> {
  const worker = new Worker(url, { workerData, execArgv: compiledExecArgv(process.execArgv) });
  return new Promise<Worker>((resolve, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (reply: WorkerReply) => {
      cleanup();
      if (reply.kind === 'ready') resolve(worker);
      else {
        void worker.terminate();
        reject(new Error(reply.kind === 'failed' ? reply.message : 'unexpected first message'));
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`verifier thread exited (${code}) before it was ready`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * The parent's node flags minus the `source` export condition (vitest runs with
 * `--conditions source`): under it the thread would import TypeScript that plain node cannot load.
 */
export function compiledExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if ((arg === '--conditions' || arg === '-C') && execArgv[i + 1] === 'source') i++;
    else if (arg !== '--conditions=source' && arg !== '-C=source') kept.push(arg);
  }
  return kept;
}
