import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort, workerData, type Transferable } from 'node:worker_threads';

/**
 * The thread-pool mechanics shared by `VerifierPool` and `SigningPool`: the compiled worker next
 * to this module, a start/ready handshake, least-busy dispatch, idle threads unref'd, a crashed
 * thread failing the whole pool, and `close()`. Each pool keeps its own error class: it passes a
 * factory that turns one of the three failure kinds into its own coded error.
 */

/** What went wrong in a pool: the worker is not built, a thread failed, or the pool is closed. */
export type WorkerPoolFailure = 'missing' | 'failed' | 'closed';

/** Makes the pool's own error for one failure kind. */
export type WorkerPoolErrorFactory<E extends Error> = (
  kind: WorkerPoolFailure,
  message: string,
  options?: { cause?: unknown },
) => E;

/** @internal One job as posted to a worker. */
export interface JobMessage<Job> {
  id: number;
  job: Job;
}

/** @internal Messages from a worker: its start, then one answer per job. */
export type WorkerMessage<Reply> =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; reply: Reply }
  | { kind: 'error'; id: number; message: string };

export interface WorkerPoolSpec<E extends Error> {
  /** The compiled worker's file name, next to this module in `dist/` (e.g. `verifyWorker.js`). */
  worker: string;
  /** Names the threads in messages: `verifier` → "a verifier thread crashed". */
  label: string;
  /** Threads to start (already checked with `positiveInteger`). */
  size: number;
  /** Handed to every thread as `workerData` (structured clone). */
  workerData: unknown;
  error: WorkerPoolErrorFactory<E>;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

interface Pending<Reply> {
  slot: Slot;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

/** Throws a `RangeError` unless `value` is a positive safe integer (`what` names it). */
export function positiveInteger(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${what} ${String(value)} is not a positive integer`);
  }
  return value;
}

/**
 * The compiled worker `file` next to this module. Under vitest this module runs from `src/*.ts`
 * while worker threads run plain node, so the worker is taken from `dist/` (built by
 * `npm run build`).
 */
export function compiledWorkerUrl<E extends Error>(
  file: string,
  label: string,
  error: WorkerPoolErrorFactory<E>,
): URL {
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  const url = new URL(fromSource ? `../dist/${file}` : `./${file}`, import.meta.url);
  if (!existsSync(url)) {
    throw error(
      'missing',
      `${fileURLToPath(url)} is missing: run \`npm run build\` first (${label} threads run the compiled worker)`,
    );
  }
  return url;
}

/**
 * A fixed set of worker threads running one compiled worker (see `serveWorker`). `run` sends a
 * job to the thread with the fewest jobs in flight and resolves with its reply; an `error` reply
 * rejects that job only; a thread that crashes or exits fails the pool (every job in flight and
 * every later call reject with the `failed` error, the other threads are stopped).
 */
export class WorkerPool<Job, Reply, E extends Error> {
  readonly size: number;
  readonly #label: string;
  readonly #error: WorkerPoolErrorFactory<E>;
  readonly #slots: Slot[];
  readonly #pending = new Map<number, Pending<Reply>>();
  #nextId = 0;
  #next = 0;
  #failure: E | null = null;
  #closed = false;

  private constructor(slots: Slot[], label: string, error: WorkerPoolErrorFactory<E>) {
    this.#slots = slots;
    this.size = slots.length;
    this.#label = label;
    this.#error = error;
    for (const slot of slots) {
      slot.worker.on('message', (message: WorkerMessage<Reply>) => this.#onMessage(message));
      slot.worker.on('error', (cause) =>
        this.#fail(error('failed', `a ${label} thread crashed`, { cause })),
      );
      slot.worker.on('exit', (code) =>
        this.#fail(error('failed', `a ${label} thread exited (${code})`)),
      );
      // Idle threads do not keep the process alive; a thread with work in flight does.
      slot.worker.unref();
    }
  }

  /** Starts `size` threads and resolves once every one of them reported `ready`. */
  static async start<Job, Reply, E extends Error>(
    spec: WorkerPoolSpec<E>,
  ): Promise<WorkerPool<Job, Reply, E>> {
    const { label, error } = spec;
    const url = compiledWorkerUrl(spec.worker, label, error);
    const starting = Array.from({ length: spec.size }, () =>
      startWorker(url, spec.workerData, label),
    );
    const started = await Promise.allSettled(starting);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(
        started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.terminate()] : [])),
      );
      throw error('failed', `a ${label} thread did not start`, { cause: failed.reason });
    }
    const workers = started.map((s) => (s as PromiseFulfilledResult<Worker>).value);
    return new WorkerPool<Job, Reply, E>(
      workers.map((worker) => ({ worker, inFlight: 0 })),
      label,
      error,
    );
  }

  /** Why the pool no longer takes work (a crash, or `close()`), or `null`. */
  get failure(): E | null {
    return this.#failure;
  }

  /** Jobs sent to the threads and not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends `job` to the least busy thread; `transfer` lists buffers moved rather than copied. */
  run(job: Job, transfer: readonly Transferable[] = []): Promise<Reply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const slot = this.#pick();
    const id = ++this.#nextId;
    const message: JobMessage<Job> = { id, job };
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { slot, resolve, reject });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage(message, transfer);
    });
  }

  /** Stops every thread; jobs in flight are rejected with the `closed` error. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(this.#error('closed', `the ${this.#label} pool is closed`));
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
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

  #onMessage(message: WorkerMessage<Reply>): void {
    if (message.kind !== 'result' && message.kind !== 'error') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    const { slot } = pending;
    if (--slot.inFlight === 0) slot.worker.unref();
    if (message.kind === 'error') {
      pending.reject(this.#error('failed', `${this.#label} thread: ${message.message}`));
      return;
    }
    pending.resolve(message.reply);
  }

  #fail(error: E): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
    for (const slot of this.#slots) {
      slot.inFlight = 0;
      slot.worker.unref();
    }
    // A crashed thread leaves the others running: stop them, the pool is unusable now.
    if (!this.#closed) {
      for (const slot of this.#slots) void slot.worker.terminate();
    }
  }
}

/** Starts one thread and waits for its `ready` (or its failure to set itself up). */
function startWorker(url: URL, data: unknown, label: string): Promise<Worker> {
  const worker = new Worker(url, {
    workerData: data,
    execArgv: compiledExecArgv(process.execArgv),
  });
  return new Promise<Worker>((resolve, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: WorkerMessage<unknown>) => {
      cleanup();
      if (message.kind === 'ready') resolve(worker);
      else {
        void worker.terminate();
        reject(new Error(message.kind === 'failed' ? message.message : 'unexpected first message'));
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`${label} thread exited (${code}) before it was ready`));
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

/** What a worker's job handler returns: the reply and the buffers to transfer with it. */
export interface HandledJob<Reply> {
  reply: Reply;
  transfer?: readonly Transferable[];
}

/**
 * The worker side of `WorkerPool`, called once by the worker module: runs `setup(workerData)`
 * (a throw is reported as `failed` and ends the thread, so `start` rejects), then answers each
 * job with `handle(job)`; a throw there is an `error` answer for that job only.
 */
export async function serveWorker<Data, Job, Reply>(
  name: string,
  setup: (
    data: Data,
  ) => ((job: Job) => HandledJob<Reply>) | Promise<(job: Job) => HandledJob<Reply>>,
): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error(`${name} runs as a worker thread of its pool`);
  let handle: (job: Job) => HandledJob<Reply>;
  try {
    handle = await setup(workerData as Data);
  } catch (error) {
    port.postMessage({
      kind: 'failed',
      message: messageOf(error),
    } satisfies WorkerMessage<Reply>);
    process.exit(1);
  }
  port.on('message', ({ id, job }: JobMessage<Job>) => {
    try {
      const { reply, transfer = [] } = handle(job);
      port.postMessage({ kind: 'result', id, reply } satisfies WorkerMessage<Reply>, transfer);
    } catch (error) {
      // A bug or a broken job, not an outcome: the caller's job fails as a whole.
      port.postMessage({
        kind: 'error',
        id,
        message: messageOf(error),
      } satisfies WorkerMessage<Reply>);
    }
  });
  port.postMessage({ kind: 'ready' } satisfies WorkerMessage<Reply>);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
