import type { EventStore, Logger, NatsConnection } from '@secai/streams';
import { sendCommand } from '@secai/streams';
import type { ServableModel } from './catalog.js';
import { ModelVerificationError } from './engine/index.js';
import type { Engine, LoadedModel } from './engine/types.js';
import { InferenceError } from './errors.js';

export type UnloadReason = 'contained' | 'removed' | 'verification_failed' | 'idle' | 'shutdown';

/** What ends the requests in flight when their model is taken away. */
export class ModelGoneError extends InferenceError {
  constructor(readonly reason: UnloadReason) {
    super(
      reason === 'contained' || reason === 'removed' || reason === 'verification_failed'
        ? 'MODEL_CONTAINED'
        : 'MODEL_NOT_AVAILABLE',
      reason === 'shutdown'
        ? 'inference is shutting down'
        : `the model was ${reason === 'verification_failed' ? 'found changed' : reason} while answering`,
    );
  }
}

interface Hosted {
  loading: Promise<LoadedModel>;
  loaded: LoadedModel | null;
  /** Requests running on it: aborted with `ModelGoneError` when it is unloaded. */
  inFlight: Set<AbortController>;
  servable: ServableModel;
}

export interface ModelHostDeps {
  engine: Engine;
  store: EventStore;
  nc: NatsConnection;
  log: Logger;
  /** Absolute path of a stored model. */
  pathOf: (m: ServableModel) => string;
  /** Called when a model is unloaded, to close the sessions on it (returns how many). */
  closeSessionsOf: (digest: string) => Promise<number>;
}

export interface LoadSettings {
  contextSize: number;
  maxSequences: number;
}

/**
 * The models inference has loaded, by digest. A model is loaded on first use, after the engine
 * re-hashed the very descriptor it loads; a mismatch is refused, recorded, and reported to the
 * registry (which records `model.verification.failed`, the incident recorder's signal). A
 * `model.contained` or `model.removed` unloads at once and ends every request in flight on it.
 */
export class ModelHost {
  readonly #hosted = new Map<string, Hosted>();
  /** Digests whose bytes did not match: not re-hashed on every request until the registry speaks. */
  readonly #refused = new Map<string, InferenceError>();

  constructor(private readonly deps: ModelHostDeps) {}

  loaded(): LoadedModel[] {
    return [...this.#hosted.values()].flatMap((h) => (h.loaded ? [h.loaded] : []));
  }

  inFlight(digest: string): number {
    return this.#hosted.get(digest)?.inFlight.size ?? 0;
  }

  /** The loaded model (loading it first), with an abort controller tracked until `done`. */
  async use(
    m: ServableModel,
    settings: LoadSettings,
    signal: AbortSignal,
  ): Promise<{ model: LoadedModel; signal: AbortSignal; done: () => void }> {
    const refused = this.#refused.get(m.digest);
    if (refused) throw refused;
    let hosted = this.#hosted.get(m.digest);
    if (!hosted) {
      const fresh: Hosted = {
        servable: m,
        loaded: null,
        inFlight: new Set(),
        loading: this.#load(m, settings),
      };
      hosted = fresh;
      this.#hosted.set(m.digest, fresh);
      fresh.loading.then(
        (loaded) => {
          fresh.loaded = loaded;
        },
        () => {
          if (this.#hosted.get(m.digest) === fresh) this.#hosted.delete(m.digest);
        },
      );
    }
    const model = await hosted.loading;
    if (this.#hosted.get(m.digest) !== hosted) throw new ModelGoneError('contained');
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    hosted.inFlight.add(controller);
    return {
      model,
      signal: controller.signal,
      done: () => {
        signal.removeEventListener('abort', onAbort);
        hosted.inFlight.delete(controller);
      },
    };
  }

  async #load(m: ServableModel, settings: LoadSettings): Promise<LoadedModel> {
    const { engine, store, log } = this.deps;
    try {
      const loaded = await engine.load(
        { digest: m.digest, name: m.name, path: this.deps.pathOf(m), sizeBytes: m.sizeBytes },
        settings,
      );
      await store.append(
        [
          {
            type: 'inference.model.loaded',
            aggregateId: m.hex,
            data: {
              model: m.digest,
              name: m.name,
              backend: loaded.backend,
              threads: engine.threads,
              contextSize: loaded.contextSize,
              verifiedBytes: loaded.verifiedBytes,
              loadMs: Math.round(loaded.loadMs),
            },
          },
        ],
        { expectedSequence: 'any' },
      );
      log.info({ model: m.digest, backend: loaded.backend }, 'model loaded');
      return loaded;
    } catch (err) {
      if (!(err instanceof ModelVerificationError)) throw err;
      const refusal = new InferenceError(
        'MODEL_VERIFICATION_FAILED',
        `${m.id}: the stored bytes do not match sha256:${m.hex} (${err.problem}); not loaded`,
      );
      this.#refused.set(m.digest, refusal);
      log.error(
        { model: m.digest, problem: err.problem },
        'stored model does not match its digest',
      );
      await store
        .append(
          [
            {
              type: 'inference.model.refused',
              aggregateId: m.hex,
              data: {
                model: m.digest,
                problem: err.problem,
                expected: m.digest,
                actual: err.actual,
              },
            },
          ],
          { expectedSequence: 'any' },
        )
        .catch((e: unknown) => log.error({ err: e }, 'could not record the refusal'));
      // The registry owns verification records: its re-hash records model.verification.failed.
      await sendCommand(this.deps.nc, {
        command: 'registry.verify',
        signer: store.signer,
        trust: store.trust,
        request: { model: m.hex },
      }).catch((e: unknown) => log.error({ err: e }, 'could not ask the registry to verify'));
      throw refusal;
    }
  }

  /** The registry changed its mind about a model: a new verdict clears a cached refusal. */
  forgetRefusal(digest: string): void {
    this.#refused.delete(digest);
  }

  /** Unloads at once; requests in flight end with `ModelGoneError`. */
  async unload(digest: string, reason: UnloadReason, causeEventId?: string): Promise<boolean> {
    const hosted = this.#hosted.get(digest);
    if (!hosted) return false;
    this.#hosted.delete(digest);
    const ended = hosted.inFlight.size;
    for (const c of hosted.inFlight) c.abort(new ModelGoneError(reason));
    const closed = await this.deps.closeSessionsOf(digest);
    const model = await hosted.loading.catch(() => null);
    await model?.unload();
    this.deps.log.warn({ model: digest, reason, ended }, 'model unloaded');
    if (model)
      await this.deps.store
        .append(
          [
            {
              type: 'inference.model.unloaded',
              aggregateId: hosted.servable.hex,
              data: {
                model: digest,
                reason,
                ...(causeEventId ? { causeEventId } : {}),
                endedRequests: ended,
                closedSessions: closed,
              },
            },
          ],
          { expectedSequence: 'any' },
        )
        .catch((e: unknown) => this.deps.log.error({ err: e }, 'could not record the unload'));
    return true;
  }

  async unloadAll(reason: UnloadReason): Promise<void> {
    for (const digest of [...this.#hosted.keys()]) await this.unload(digest, reason);
  }
}
