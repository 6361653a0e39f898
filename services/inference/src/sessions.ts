import { randomBytes } from 'node:crypto';
import type { EventStore, Logger } from '@secai/streams';
import type { InferenceBackendName } from '@secai/contracts';
import type { ServableModel } from './catalog.js';
import type { ModelSequence } from './engine/types.js';
import { InferenceError } from './errors.js';
import { RETRY_AFTER_SECONDS } from './admission.js';

export type SessionMode = 'standard' | 'sensitive';
type CloseReason = 'client' | 'idle' | 'model_unloaded' | 'shutdown';

/** A named conversation: one caller, one model, one context sequence kept between requests. */
export interface Session {
  id: string;
  caller: string;
  model: ServableModel;
  mode: SessionMode;
  /** Created by the first request (the model may not be loaded when the session opens). */
  sequence: ModelSequence | null;
  openedAt: number;
  lastUsedAt: number;
  /** Requests running or waiting on it: a busy session is never idle, whatever its last start. */
  busy: number;
  requests: number;
  /** One request at a time per sequence: the next waits for this. */
  tail: Promise<void>;
}

export interface SessionsDeps {
  store: EventStore;
  log: Logger;
  now?: () => number;
  backend: () => InferenceBackendName;
}

/**
 * Named sessions (`POST /api/v1/sessions`, then `X-Secai-Session` on each request). A session
 * belongs to the caller that opened it: any other caller is told it does not exist. Requests
 * without a session get a sequence of their own for that request only, which is never shared.
 */
export class Sessions {
  readonly #byId = new Map<string, Session>();
  readonly #now: () => number;

  constructor(private readonly deps: SessionsDeps) {
    this.#now = deps.now ?? Date.now;
  }

  get count(): number {
    return this.#byId.size;
  }

  list(): Session[] {
    return [...this.#byId.values()];
  }

  async open(
    caller: string,
    model: ServableModel,
    limits: { maxSessions: number; mode: SessionMode; contextSize: number },
  ): Promise<Session> {
    if (this.#byId.size >= limits.maxSessions)
      throw new InferenceError(
        'SESSION_LIMIT',
        `${this.#byId.size} sessions are open (the policy allows ${limits.maxSessions}); close one or retry later`,
        RETRY_AFTER_SECONDS,
      );
    const id = `sess_${randomBytes(12).toString('base64url')}`;
    const at = this.#now();
    const session: Session = {
      id,
      caller,
      model,
      mode: limits.mode,
      sequence: null,
      openedAt: at,
      lastUsedAt: at,
      busy: 0,
      requests: 0,
      tail: Promise.resolve(),
    };
    this.#byId.set(id, session);
    await this.deps.store.append(
      [
        {
          type: 'inference.session.opened',
          aggregateId: id,
          data: {
            model: model.digest,
            caller,
            mode: limits.mode,
            backend: this.deps.backend(),
            contextSize: limits.contextSize,
            ephemeral: false,
          },
        },
      ],
      { expectedSequence: 0 },
    );
    return session;
  }

  /** The caller's own session; anyone else's is "unknown", never "forbidden". */
  get(id: string, caller: string): Session {
    const s = this.#byId.get(id);
    if (!s || s.caller !== caller) throw new InferenceError('SESSION_UNKNOWN', `no session ${id}`);
    return s;
  }

  /** Runs `work` alone on the session (requests of one session are serialised). */
  async exclusive<T>(s: Session, work: () => Promise<T>): Promise<T> {
    const previous = s.tail;
    let finish!: () => void;
    s.tail = new Promise<void>((resolve) => (finish = resolve));
    s.busy++;
    try {
      await previous;
      s.requests++;
      s.lastUsedAt = this.#now();
      return await work();
    } finally {
      s.busy--;
      s.lastUsedAt = this.#now();
      finish();
    }
  }

  async close(id: string, caller: string, reason: CloseReason = 'client'): Promise<void> {
    const s = this.get(id, caller);
    await this.#close(s, reason);
  }

  async #close(s: Session, reason: CloseReason): Promise<void> {
    if (this.#byId.get(s.id) !== s) return;
    this.#byId.delete(s.id);
    const sensitive = s.mode === 'sensitive';
    // Wait for its request to end (an unload has already aborted it) before freeing its memory.
    await s.tail.catch(() => undefined);
    try {
      if (s.sequence) {
        if (!sensitive) await s.sequence.clear();
        await s.sequence.dispose({ disposeContext: sensitive });
      }
    } catch (err) {
      this.deps.log.warn({ err, session: s.id }, 'session sequence was already gone');
    }
    await this.deps.store
      .append(
        [
          {
            type: 'inference.session.closed',
            aggregateId: s.id,
            data: {
              model: s.model.digest,
              caller: s.caller,
              reason,
              requests: s.requests,
              durationMs: Math.max(0, Math.round(this.#now() - s.openedAt)),
              contextDisposed: sensitive,
            },
          },
        ],
        { expectedSequence: 'any' },
      )
      .catch((err: unknown) => this.deps.log.error({ err }, 'could not record a session close'));
  }

  /** Closes every session on a model that was unloaded; returns how many. */
  async closeModel(digest: string): Promise<number> {
    const on = [...this.#byId.values()].filter((s) => s.model.digest === digest);
    // Their sequences died with the model's contexts: nothing to clear.
    for (const s of on) s.sequence = null;
    await Promise.all(on.map((s) => this.#close(s, 'model_unloaded')));
    return on.length;
  }

  /** Closes sessions idle longer than `idleMs`. */
  async sweep(idleMs: number): Promise<number> {
    const cutoff = this.#now() - idleMs;
    // A request may run longer than the idle limit (both are policy): busy sessions stay open.
    const idle = [...this.#byId.values()].filter((s) => s.busy === 0 && s.lastUsedAt < cutoff);
    await Promise.all(idle.map((s) => this.#close(s, 'idle')));
    return idle.length;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#byId.values()].map((s) => this.#close(s, 'shutdown')));
  }
}
