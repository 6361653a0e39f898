import { EngineError } from './errors.js';

// Every generation on a model runs under its own AbortController, chained to the caller's signal,
// so unload can end them all (and wait for them) without touching the callers' signals.

interface Running {
  controller: AbortController;
  done: Promise<unknown>;
}

export class InFlight {
  private readonly running = new Set<Running>();
  private closed = false;

  get size(): number {
    return this.running.size;
  }

  /** Runs `work` with a signal that aborts when `callerSignal` does or when `close` is called. */
  async run<T>(callerSignal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closed) throw new EngineError('MODEL_UNLOADED', 'the model was unloaded');
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(callerSignal.reason);
    if (callerSignal.aborted) controller.abort(callerSignal.reason);
    else callerSignal.addEventListener('abort', onAbort, { once: true });
    const done = work(controller.signal);
    const entry: Running = { controller, done };
    this.running.add(entry);
    try {
      return await done;
    } finally {
      this.running.delete(entry);
      callerSignal.removeEventListener('abort', onAbort);
    }
  }

  /** Refuses new work, aborts everything running and resolves once all of it has ended. */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.running];
    const reason = new EngineError('MODEL_UNLOADED', 'the model is being unloaded');
    for (const entry of running) entry.controller.abort(reason);
    await Promise.allSettled(running.map((entry) => entry.done));
  }
}
