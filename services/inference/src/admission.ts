import { InferenceError } from './errors.js';

/** Seconds a refused client is told to wait. */
export const RETRY_AFTER_SECONDS = 2;

export interface AdmissionLimits {
  /** Requests generating at once. */
  slots: number;
  /** Requests waiting for a slot; one more is refused with 429 at once. */
  queueLength: number;
}

/**
 * Generation slots with a bounded wait queue: over the queue a request is refused at once (429
 * `QUEUE_FULL` with Retry-After), a request that waits longer than its deadline gets 503
 * `BUSY`; nothing hangs. FIFO, so a flood cannot starve an earlier caller.
 */
export class Admission {
  #active = 0;
  readonly #waiting: { grant: () => void; refuse: (err: Error) => void }[] = [];

  constructor(private limits: AdmissionLimits) {}

  setLimits(limits: AdmissionLimits): void {
    this.limits = limits;
    this.#drain();
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Resolves with a release function once a slot is held. */
  acquire(signal: AbortSignal, waitMs: number): Promise<() => void> {
    if (this.#active < this.limits.slots && this.#waiting.length === 0)
      return Promise.resolve(this.#hold());
    if (this.#waiting.length >= this.limits.queueLength)
      return Promise.reject(
        new InferenceError(
          'QUEUE_FULL',
          `${this.#active} requests are running and ${this.#waiting.length} waiting; retry later`,
          RETRY_AFTER_SECONDS,
        ),
      );
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          cleanup();
          resolve(this.#hold());
        },
        refuse: (err: Error) => {
          cleanup();
          reject(err);
        },
      };
      const leave = (err: Error) => {
        const at = this.#waiting.indexOf(entry);
        if (at >= 0) this.#waiting.splice(at, 1);
        entry.refuse(err);
      };
      const timer = setTimeout(
        () =>
          leave(
            new InferenceError(
              'BUSY',
              `no generation slot came free within ${Math.round(waitMs / 1000)} s`,
              RETRY_AFTER_SECONDS,
            ),
          ),
        waitMs,
      );
      const onAbort = () => leave(new InferenceError('BUSY', 'the client went away while waiting'));
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  #hold(): () => void {
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#drain();
    };
  }

  #drain(): void {
    while (this.#active < this.limits.slots && this.#waiting.length > 0)
      this.#waiting.shift()!.grant();
  }
}
