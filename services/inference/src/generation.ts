import { randomBytes } from 'node:crypto';
import type { EventData } from '@secai/contracts';
import type { EventStore, Logger } from '@secai/streams';
import type { RegistryManifestDocument } from '@secai/projections';
import { RETRY_AFTER_SECONDS, type Admission } from './admission.js';
import { resolveModel, type ServableModel } from './catalog.js';
import { EngineError, type EngineErrorCode } from './engine/index.js';
import type {
  ChatRequest,
  CompletionRequest,
  GenerationResult,
  LoadedModel,
  ModelSequence,
} from './engine/types.js';
import { InferenceError, type InferenceErrorCode } from './errors.js';
import { ModelGoneError, type ModelHost } from './modelHost.js';
import { answerTextOf, fingerprint, promptTextOf } from './openai.js';
import type { Session, Sessions } from './sessions.js';
import type { InferenceSettings } from './settings.js';

export type Endpoint = 'chat' | 'completion' | 'embedding';

export interface GenerationDeps {
  manifest: () => RegistryManifestDocument;
  settings: () => Promise<InferenceSettings>;
  admission: Admission;
  host: ModelHost;
  sessions: Sessions;
  store: EventStore;
  log: Logger;
  backend: () => EventData<'inference.request.completed'>['backend'];
}

export interface Job {
  requestId: string;
  caller: string;
  endpoint: Endpoint;
  stream: boolean;
  /** The client's own abort (it went away). */
  signal: AbortSignal;
  modelName: string;
  sessionId?: string;
  request: ChatRequest | CompletionRequest;
  onText?: (text: string) => void;
  /** Called once the request holds a model and a slot: streaming replies start here. */
  onStart?: (model: ServableModel) => void;
}

export interface JobResult {
  model: ServableModel;
  result: GenerationResult;
}

/** The caller as the events and sessions name it: `service:<name>` or `key:<name>`. */
export const callerId = (caller: string) =>
  caller.startsWith('key:') || caller.startsWith('service:') ? caller : `service:${caller}`;

export const newRequestId = () => `req_${randomBytes(9).toString('base64url')}`;

/**
 * One generation, from the model's name to its recorded outcome: the policy's limits, the trusted
 * model, a slot, a sequence (the session's, or one of its own), the deadline, and the event.
 * A model taken away mid-answer ends it with `MODEL_CONTAINED`; the deadline with `TIMEOUT`.
 */
export class Generator {
  constructor(private readonly deps: GenerationDeps) {}

  async run(job: Job): Promise<JobResult> {
    const started = performance.now();
    let model: ServableModel | null = null;
    try {
      const settings = await this.deps.settings();
      model = resolveModel(this.deps.manifest(), job.modelName);
      const session = job.sessionId ? this.deps.sessions.get(job.sessionId, job.caller) : null;
      if (session && session.model.digest !== model.digest)
        throw new InferenceError(
          'SESSION_CONFLICT',
          `session ${session.id} is bound to ${session.model.id}, not ${model.id}`,
        );
      const outcome = await this.#generate(job, model, session, settings);
      void this.#record(job, model, outcome.result, started);
      return outcome;
    } catch (err) {
      const failure = asInferenceError(err);
      void this.#recordFailure(job, model, failure, started);
      throw failure;
    }
  }

  async #generate(
    job: Job,
    model: ServableModel,
    session: Session | null,
    settings: InferenceSettings,
  ): Promise<JobResult> {
    const deadline = AbortSignal.timeout(settings.requestTimeoutMs);
    const signal = AbortSignal.any([job.signal, deadline]);
    const release = await this.deps.admission.acquire(signal, settings.requestTimeoutMs);
    try {
      const use = await this.deps.host.use(
        model,
        { contextSize: settings.contextSize, maxSequences: settings.maxSessions },
        signal,
      );
      try {
        job.onStart?.(model);
        const run = async (sequence: ModelSequence) => {
          const hooks = { signal: use.signal, ...(job.onText ? { onText: job.onText } : {}) };
          const result =
            'prompt' in job.request
              ? await sequence.complete(job.request, hooks)
              : await sequence.chat(job.request, hooks);
          if (result.finishReason === 'aborted') throw abortReason(use.signal, deadline, settings);
          return result;
        };
        const result = session
          ? await this.deps.sessions.exclusive(session, async () => {
              session.sequence ??= await openSequence(use.model, session.mode === 'sensitive');
              return run(session.sequence);
            })
          : await this.#ephemeral(use.model, settings, run);
        return { model, result };
      } finally {
        use.done();
      }
    } finally {
      release();
    }
  }

  /** A sequence for this request only: cleared (or its context disposed) before anyone else gets it. */
  async #ephemeral(
    model: LoadedModel,
    settings: InferenceSettings,
    run: (s: ModelSequence) => Promise<GenerationResult>,
  ): Promise<GenerationResult> {
    const sensitive = settings.sessionMode === 'sensitive';
    const sequence = await openSequence(model, sensitive);
    try {
      return await run(sequence);
    } finally {
      await sequence
        .dispose({ disposeContext: sensitive })
        .catch((err: unknown) => this.deps.log.warn({ err }, 'sequence already disposed'));
    }
  }

  async #record(
    job: Job,
    model: ServableModel,
    r: GenerationResult,
    started: number,
  ): Promise<void> {
    const data: EventData<'inference.request.completed'> = {
      requestId: job.requestId,
      model: model.digest,
      caller: callerId(job.caller),
      endpoint: job.endpoint,
      backend: this.deps.backend(),
      stream: job.stream,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      timeToFirstTokenMs: r.timeToFirstTokenMs === null ? null : Math.round(r.timeToFirstTokenMs),
      durationMs: Math.round(performance.now() - started),
      finishReason: r.finishReason,
      toolCalls: r.toolCalls.map((c) => c.name).slice(0, 32),
      prompt: fingerprint(promptTextOf(job.request)),
      answer: fingerprint(answerTextOf(r)),
    };
    await this.deps.store
      .append(
        [
          {
            type: 'inference.request.completed',
            aggregateId: job.sessionId ?? job.requestId,
            data,
          },
        ],
        { expectedSequence: 'any' },
      )
      .catch((err: unknown) =>
        this.deps.log.error({ err }, 'could not record a completed request'),
      );
  }

  async #recordFailure(
    job: Job,
    model: ServableModel | null,
    failure: InferenceError,
    started: number,
  ): Promise<void> {
    // Refusals before any model was involved (policy, unknown model) are answers, not failures.
    if (model === null) return;
    await this.deps.store
      .append(
        [
          {
            type: 'inference.request.failed',
            aggregateId: job.sessionId ?? job.requestId,
            data: {
              requestId: job.requestId,
              model: model.digest,
              caller: callerId(job.caller),
              endpoint: job.endpoint,
              code: failure.code,
              status: failure.status,
              durationMs: Math.round(performance.now() - started),
              prompt: fingerprint(promptTextOf(job.request)),
            },
          },
        ],
        { expectedSequence: 'any' },
      )
      .catch((err: unknown) => this.deps.log.error({ err }, 'could not record a failed request'));
  }
}

async function openSequence(model: LoadedModel, sensitive: boolean): Promise<ModelSequence> {
  try {
    return await model.openSequence({ dedicatedContext: sensitive });
  } catch (err) {
    if (err instanceof EngineError && err.code === 'NO_SEQUENCE')
      throw new InferenceError(
        'SESSION_LIMIT',
        'every context sequence of this model is in use; retry later',
        2,
      );
    throw err;
  }
}

function abortReason(
  signal: AbortSignal,
  deadline: AbortSignal,
  settings: InferenceSettings,
): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof ModelGoneError) return reason;
  if (deadline.aborted)
    return new InferenceError(
      'TIMEOUT',
      `the answer took longer than ${settings.requestTimeoutMs / 1000} s (policy inference.request_timeout_seconds)`,
    );
  return new InferenceError('BUSY', 'the client went away');
}

/** What the engine refused, as the client's problem (what it failed at stays a 500). */
const ENGINE_REFUSALS: Partial<Record<EngineErrorCode, InferenceErrorCode>> = {
  EMBEDDINGS_UNSUPPORTED: 'EMBEDDINGS_UNSUPPORTED',
  PROMPT_TOO_LONG: 'PROMPT_TOO_LONG',
  INVALID_REQUEST: 'REQUEST_UNSUPPORTED',
  INVALID_SCHEMA: 'SCHEMA_UNSUPPORTED',
  NO_SEQUENCE: 'SESSION_LIMIT',
  SEQUENCE_BUSY: 'SESSION_CONFLICT',
  MODEL_UNLOADED: 'MODEL_CONTAINED',
};

export function asInferenceError(err: unknown): InferenceError {
  if (err instanceof InferenceError) return err;
  const refusal = err instanceof EngineError ? ENGINE_REFUSALS[err.code] : undefined;
  if (refusal !== undefined)
    return new InferenceError(
      refusal,
      (err as EngineError).message,
      refusal === 'SESSION_LIMIT' ? RETRY_AFTER_SECONDS : undefined,
    );
  return new InferenceError('GENERATION_FAILED', 'the model failed to answer', undefined, {
    cause: err,
  });
}
