import {
  LlamaChat,
  LlamaCompletion,
  type ChatWrapper,
  type Llama,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { runChatTurn, type TurnOutcome } from './chat.js';
import { runCompletion } from './completion.js';
import { EngineError } from './errors.js';
import type { InFlight } from './inFlight.js';
import { GenerationMeter } from './meter.js';
import type {
  ChatRequest,
  CompletionRequest,
  GenerationHooks,
  GenerationResult,
  ModelSequence,
} from './types.js';

/** What a sequence needs from the model it belongs to. */
export interface SequenceOwner {
  readonly llama: Llama;
  readonly model: LlamaModel;
  readonly chatWrapper: ChatWrapper;
  readonly inFlight: InFlight;
  /** Gives the slot back, and disposes the sequence's dedicated context if it has one. */
  release(sequence: LlamaModelSequence): Promise<void>;
}

/**
 * One conversation on one node-llama-cpp context sequence. A sequence has its own KV cells and
 * token history in the context; nothing of another sequence's is visible to it. One generation
 * at a time.
 */
export class LlamaModelSequence implements ModelSequence {
  private readonly chatEngine: LlamaChat;
  private readonly completion: LlamaCompletion;
  /** The generation in progress, if any: dispose stops it and waits for it. */
  private running: { stop: AbortController; done: Promise<unknown> } | undefined;
  private closed: 'open' | 'disposed' | 'unloaded' = 'open';

  constructor(
    private readonly owner: SequenceOwner,
    readonly sequence: LlamaContextSequence,
  ) {
    this.chatEngine = new LlamaChat({ contextSequence: sequence, chatWrapper: owner.chatWrapper });
    this.completion = new LlamaCompletion({ contextSequence: sequence });
  }

  /** The tokens in this sequence's context state (for tests and status; never logged). */
  get evaluatedTokens(): readonly Token[] {
    return this.sequence.contextTokens;
  }

  chat(request: ChatRequest, hooks: GenerationHooks): Promise<GenerationResult> {
    return this.generate(hooks, (signal, meter) =>
      runChatTurn(
        {
          llama: this.owner.llama,
          model: this.owner.model,
          chat: this.chatEngine,
          completion: this.completion,
          contextSize: this.sequence.contextSize,
        },
        request,
        signal,
        meter,
      ),
    );
  }

  complete(request: CompletionRequest, hooks: GenerationHooks): Promise<GenerationResult> {
    return this.generate(hooks, (signal, meter) =>
      runCompletion(
        {
          model: this.owner.model,
          completion: this.completion,
          contextSize: this.sequence.contextSize,
        },
        request,
        signal,
        meter,
      ),
    );
  }

  async clear(): Promise<void> {
    this.ensureIdle();
    await this.sequence.clearHistory();
  }

  /**
   * A generation still running on it is aborted (it ends with finishReason `aborted`) and waited
   * for first. A dedicated context is disposed with its sequence whatever `disposeContext` says.
   */
  async dispose(_options: { disposeContext?: boolean } = {}): Promise<void> {
    if (this.closed !== 'open') return;
    this.closed = 'disposed';
    const running = this.running;
    if (running !== undefined) {
      running.stop.abort(new EngineError('SEQUENCE_CLOSED', 'the sequence was disposed'));
      await running.done.catch(() => undefined);
    }
    this.chatEngine.dispose({ disposeSequence: false });
    this.completion.dispose({ disposeSequence: false });
    await this.owner.release(this);
  }

  /** Unload closes every sequence once the generations have ended. */
  markUnloaded(): void {
    this.closed = 'unloaded';
  }

  private ensureIdle(): void {
    if (this.closed === 'unloaded')
      throw new EngineError('MODEL_UNLOADED', 'the model was unloaded');
    if (this.closed === 'disposed')
      throw new EngineError('SEQUENCE_CLOSED', 'the sequence was disposed');
    if (this.running !== undefined)
      throw new EngineError('SEQUENCE_BUSY', 'the sequence is already generating');
  }

  private async generate(
    hooks: GenerationHooks,
    turn: (signal: AbortSignal, meter: GenerationMeter) => Promise<TurnOutcome>,
  ): Promise<GenerationResult> {
    this.ensureIdle();
    const stop = new AbortController();
    const done = this.owner.inFlight.run(
      AbortSignal.any([hooks.signal, stop.signal]),
      async (signal) => {
        const meter = new GenerationMeter(this.sequence, hooks.onText);
        try {
          const outcome = await turn(signal, meter);
          return meter.result(outcome.finishReason, outcome.text, outcome.toolCalls);
        } catch (error) {
          // node-llama-cpp throws the signal's reason when it is aborted before the answer began.
          if (signal.aborted) return meter.result('aborted', meter.streamedText);
          if (error instanceof EngineError) throw error;
          throw new EngineError('GENERATION_FAILED', 'node-llama-cpp failed to generate', {
            cause: error,
          });
        }
      },
    );
    this.running = { stop, done };
    try {
      return await done;
    } finally {
      this.running = undefined;
    }
  }
}
