import type { KeyObject } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import {
  BaseError,
  ValidationError,
  catalogue,
  createSigner,
  eventSubject,
  isEventType,
  newEventId,
  schemaProblems,
  type DraftEvent,
  type EventType,
} from '@secai/contracts';
import { StreamError } from './errors.js';
import { TYPE_HEADER } from './eventStore.js';
import { WorkerPool, positiveInteger, type WorkerPoolErrorFactory } from './workerPool.js';

export type SigningPoolErrorCode =
  'SIGNER_WORKER_MISSING' | 'SIGNER_WORKER_FAILED' | 'SIGNER_CLOSED';

/** The signing pool itself failed (an invalid draft is a `ValidationError`, never this). */
export class SigningPoolError extends BaseError<SigningPoolErrorCode> {}

/** The identity the pool signs as: what `createSigner` takes. */
export interface SigningIdentity {
  service: string;
  keyid: string;
  privateKey: KeyObject;
}

export interface SigningPoolOptions {
  /**
   * Worker threads (default 1: signing one batch while the caller publishes the previous one is
   * the point; on 2 cores the publishing thread and nats-server need the rest).
   */
  size?: number;
  /** Largest job sent to one thread; longer inputs are split (default 256). */
  batchSize?: number;
}

/** What `signEvent` takes besides the draft, for a whole batch. */
export interface SignBatchMeta {
  /** The events' `time` (and the time part of generated ids). */
  now: Date;
  correlationId?: string;
  causationId?: string;
  /** One event id per draft (default: `newEventId(now)` each), e.g. to re-sign for a retry. */
  ids?: readonly string[];
}

/** One signed event, as `signEvent(draft, signer, meta)` and `eventSubject` give it. */
export interface SignedEvent {
  id: string;
  type: EventType;
  /** `secai.evt.<aggregateType>.<aggregateId>`: where it is published. */
  natsSubject: string;
  /** The serialised DSSE envelope. */
  bytes: Uint8Array;
}

/** @internal What each worker starts from (a `KeyObject` crosses threads as a clone). */
export type SignWorkerData = SigningIdentity;

/** @internal One job: drafts (structured clone) and the metadata of each event. */
export interface SignJob {
  drafts: readonly DraftEvent[];
  ids: readonly string[];
  now: number;
  correlationId: string | null;
  causationId: string | null;
}

/** @internal Every envelope of a job packed in one transferred buffer; `offsets` has n + 1 entries. */
export interface SignReply {
  bytes: Uint8Array;
  offsets: Uint32Array;
}

export const DEFAULT_SIGN_BATCH = 256;

const WORKER = 'signWorker.js';
const LABEL = 'signer';
const CODES = {
  missing: 'SIGNER_WORKER_MISSING',
  failed: 'SIGNER_WORKER_FAILED',
  closed: 'SIGNER_CLOSED',
} as const satisfies Record<string, SigningPoolErrorCode>;
const signerError: WorkerPoolErrorFactory<SigningPoolError> = (kind, message, options) =>
  new SigningPoolError(CODES[kind], message, options);

/**
 * Signs events on worker threads as one service identity: each envelope is exactly what
 * `signEvent(draft, signer, meta)` makes on the calling thread (Ed25519 is deterministic: same
 * draft, id and time, same bytes), so consumers cannot tell the difference. For high-rate
 * emitters whose publishing thread is the bottleneck; see `publishSigned`.
 * @example
 * const pool = await SigningPool.create(identity);
 * try {
 *   const signed = await pool.signBatch(drafts, { now: new Date() }); // [{ id, type, natsSubject, bytes }]
 * } finally {
 *   await pool.close();
 * }
 */
export class SigningPool {
  readonly service: string;
  readonly keyid: string;
  readonly size: number;
  readonly batchSize: number;
  readonly #pool: WorkerPool<SignJob, SignReply, SigningPoolError>;

  private constructor(
    identity: SigningIdentity,
    pool: WorkerPool<SignJob, SignReply, SigningPoolError>,
    batchSize: number,
  ) {
    this.service = identity.service;
    this.keyid = identity.keyid;
    this.#pool = pool;
    this.size = pool.size;
    this.batchSize = batchSize;
  }

  /**
   * Checks the key (an `IdentityError` unless it is an Ed25519 private key, thrown here, in the
   * caller's thread), then starts `size` threads that each build their signer from it.
   */
  static async create(
    identity: SigningIdentity,
    options: SigningPoolOptions = {},
  ): Promise<SigningPool> {
    const size = positiveInteger('pool size', options.size ?? 1);
    const batchSize = positiveInteger('batch size', options.batchSize ?? DEFAULT_SIGN_BATCH);
    createSigner(identity);
    const { service, keyid, privateKey } = identity;
    const workerData: SignWorkerData = { service, keyid, privateKey };
    const pool = await WorkerPool.start<SignJob, SignReply, SigningPoolError>({
      worker: WORKER,
      label: LABEL,
      size,
      workerData,
      error: signerError,
    });
    return new SigningPool(identity, pool, batchSize);
  }

  /**
   * Signs `drafts` and returns one signed event per draft, in input order. Every draft is
   * schema-checked first, as `EventStore.append` does: one invalid draft rejects the whole batch
   * with a `ValidationError` before anything is signed. Inputs longer than `batchSize` are split
   * across the threads. Events are independent: each gets `meta.causationId` (none by default)
   * and `meta.correlationId` (its own id by default).
   */
  async signBatch(drafts: readonly DraftEvent[], meta: SignBatchMeta): Promise<SignedEvent[]> {
    if (this.#pool.failure) throw this.#pool.failure;
    assertDrafts(drafts);
    if (meta.ids !== undefined && meta.ids.length !== drafts.length) {
      throw new RangeError(`${meta.ids.length} ids for ${drafts.length} drafts`);
    }
    return this.signChecked(drafts, meta);
  }

  /** Jobs sent to the threads and not answered yet. */
  get inFlight(): number {
    return this.#pool.inFlight;
  }

  /** Stops every thread; jobs in flight are rejected with `SIGNER_CLOSED`. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /** @internal `signBatch` minus the checks, for callers that made them (`publishSigned`). */
  async signChecked(drafts: readonly DraftEvent[], meta: SignBatchMeta): Promise<SignedEvent[]> {
    if (drafts.length <= this.batchSize) {
      return drafts.length === 0 ? [] : this.#dispatch(drafts, meta, 0);
    }
    const jobs: Promise<SignedEvent[]>[] = [];
    for (let i = 0; i < drafts.length; i += this.batchSize) {
      jobs.push(this.#dispatch(drafts.slice(i, i + this.batchSize), meta, i));
    }
    return (await Promise.all(jobs)).flat();
  }

  /** `from`: index of `drafts[0]` in the caller's batch (for `meta.ids`). */
  async #dispatch(
    drafts: readonly DraftEvent[],
    meta: SignBatchMeta,
    from: number,
  ): Promise<SignedEvent[]> {
    if (this.#pool.failure) throw this.#pool.failure;
    const count = drafts.length;
    const ids =
      meta.ids?.slice(from, from + count) ??
      Array.from({ length: count }, () => newEventId(meta.now));
    const job: SignJob = {
      drafts,
      ids,
      now: meta.now.getTime(),
      correlationId: meta.correlationId ?? null,
      causationId: meta.causationId ?? null,
    };
    const { bytes, offsets } = await this.#pool.run(job);
    const signed = new Array<SignedEvent>(count);
    for (let i = 0; i < count; i++) {
      const { type, aggregateId } = drafts[i]!;
      signed[i] = {
        id: ids[i]!,
        type,
        natsSubject: eventSubject(catalogue[type].aggregate, aggregateId),
        bytes: bytes.subarray(offsets[i], offsets[i + 1]),
      };
    }
    return signed;
  }
}

/**
 * The producer-side check of `EventStore.append` for every draft: a known type and data that
 * satisfies its schema, else a `ValidationError` naming the first offending draft.
 */
function assertDrafts(drafts: readonly DraftEvent[]): void {
  for (let i = 0; i < drafts.length; i++) {
    const draft = drafts[i]!;
    if (!isEventType(draft.type)) {
      throw new ValidationError(`draft ${i}: unknown event type ${String(draft.type)}`, ['type']);
    }
    const problems = schemaProblems(catalogue[draft.type].schema, draft.data);
    if (problems.length > 0) {
      throw new ValidationError(
        `draft ${i}: ${draft.type} data is invalid: ${problems.join('; ')}`,
        problems,
      );
    }
  }
}

export interface PublishSignedOptions {
  /** Publishes awaiting their acknowledgement at most (default 256). */
  window?: number;
  /** Clock read once per batch, when the batch is sent to be signed (default: the real one). */
  now?: () => Date;
  correlationId?: string;
  causationId?: string;
}

export interface PublishSignedResult {
  /** Stream sequence of each event, in input order. */
  sequences: number[];
  /** Events the server absorbed as duplicates of an earlier publish with the same id. */
  duplicates: number;
}

/**
 * The high-rate emitter path (policy decisions and other log-like aggregates): signs the drafts
 * in `pool` in batches of `pool.batchSize` while the previous batch is being published, and
 * publishes each event on its aggregate subject with its id as `Nats-Msg-Id` and its type in
 * `Secai-Type`, at most `window` awaiting their acknowledgement. Publishes go out in input order
 * on one connection, so each aggregate's events are stored in input order.
 *
 * There is **no** expected-sequence check (`EventStore.append` with `expectedSequence: 'any'`):
 * a decision that needs optimistic concurrency on its aggregate goes through `EventStore.append`.
 * Every draft is schema-checked before anything is signed or published (`ValidationError`). Not
 * atomic: when a publish fails (`StreamError` `APPEND_FAILED`), no further one starts, and the
 * events acknowledged before stay stored.
 */
export async function publishSigned(
  js: Pick<JetStreamClient, 'publish'>,
  pool: SigningPool,
  drafts: readonly DraftEvent[],
  options: PublishSignedOptions = {},
): Promise<PublishSignedResult> {
  const window = positiveInteger('window', options.window ?? 256);
  const clock = options.now ?? (() => new Date());
  assertDrafts(drafts);
  const sequences = new Array<number>(drafts.length);
  let duplicates = 0;
  if (drafts.length === 0) return { sequences, duplicates };

  const batchSize = pool.batchSize;
  const batchCount = Math.ceil(drafts.length / batchSize);
  // Enough batches signing ahead to keep every thread busy while this thread publishes.
  const ahead = pool.size + 1;
  const signing = new Array<Promise<SignedEvent[]> | undefined>(batchCount);
  const startSigning = (k: number) => {
    const meta: SignBatchMeta = { now: clock() };
    if (options.correlationId !== undefined) meta.correlationId = options.correlationId;
    if (options.causationId !== undefined) meta.causationId = options.causationId;
    const job = pool.signChecked(drafts.slice(k * batchSize, (k + 1) * batchSize), meta);
    // Awaited in order below; until then a failure must not surface as unhandled.
    job.catch(() => undefined);
    signing[k] = job;
  };

  let inFlight = 0;
  let wake: (() => void) | null = null;
  // An object, not a `let`: it is set from the acknowledgement callbacks.
  const outcome: { failure: StreamError | null } = { failure: null };
  const settled = () => {
    inFlight--;
    const resume = wake;
    wake = null;
    resume?.();
  };
  const waitBelow = async (limit: number) => {
    while (inFlight > limit) await new Promise<void>((resolve) => (wake = resolve));
  };

  try {
    for (let k = 0; k < Math.min(ahead, batchCount); k++) startSigning(k);
    for (let k = 0; k < batchCount && outcome.failure === null; k++) {
      const batch = await signing[k]!;
      signing[k] = undefined;
      if (k + ahead < batchCount) startSigning(k + ahead);
      const base = k * batchSize;
      for (let i = 0; i < batch.length; i++) {
        if (inFlight >= window) await waitBelow(window - 1);
        if (outcome.failure !== null) break;
        const { id, type, natsSubject, bytes } = batch[i]!;
        const index = base + i;
        const h = headers();
        h.set(TYPE_HEADER, type);
        inFlight++;
        js.publish(natsSubject, bytes, { msgID: id, headers: h }).then(
          (ack) => {
            sequences[index] = ack.seq;
            if (ack.duplicate) duplicates++;
            settled();
          },
          (error: unknown) => {
            outcome.failure ??= new StreamError(
              'APPEND_FAILED',
              `publish of ${type} ${id} to ${natsSubject} failed`,
              { cause: error },
            );
            settled();
          },
        );
      }
    }
  } finally {
    // Whatever happened, return only once no publish is left in flight.
    await waitBelow(0);
  }
  if (outcome.failure !== null) throw outcome.failure;
  return { sequences, duplicates };
}
