import type { InferenceBackendName } from '@secai/contracts';
import type {
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaEmbeddingContext,
  LlamaModel,
  Token,
} from 'node-llama-cpp';
import { EngineError } from './errors.js';
import { InFlight } from './inFlight.js';
import { LlamaModelSequence, type SequenceOwner } from './sequence.js';
import type { LoadedModel, ModelSequence, SentinelResult } from './types.js';

export interface LoadedModelInit {
  llama: Llama;
  model: LlamaModel;
  chatWrapper: ChatWrapper;
  digest: string;
  name: string;
  backend: InferenceBackendName;
  threads: number;
  contextSize: number;
  maxSequences: number;
  verifiedBytes: number;
  loadMs: number;
  /** The shared context, made at load so a load that cannot hold it fails there. */
  sharedContext: LlamaContext;
  onUnloaded: () => void;
}

/**
 * A verified model in memory: one shared context whose `maxSequences` sequences are the sessions;
 * a dedicated session (sensitive mode) gets a context of its own instead, disposed with it. The
 * sentinel and embeddings use contexts of their own, so neither takes a session slot nor shares
 * a batch with a session.
 */
export class LlamaLoadedModel implements LoadedModel, SequenceOwner {
  readonly llama: Llama;
  readonly model: LlamaModel;
  readonly chatWrapper: ChatWrapper;
  readonly inFlight = new InFlight();
  readonly digest: string;
  readonly name: string;
  readonly backend: InferenceBackendName;
  readonly contextSize: number;
  readonly verifiedBytes: number;
  readonly loadMs: number;
  private readonly threads: number;
  private readonly maxSequences: number;
  private readonly onUnloaded: () => void;
  private readonly shared: LlamaContext;
  private embeddings: Promise<LlamaEmbeddingContext> | undefined;
  private readonly open = new Map<LlamaModelSequence, LlamaContext | undefined>();
  private opening = 0;
  private unloading: Promise<void> | undefined;

  constructor(init: LoadedModelInit) {
    this.llama = init.llama;
    this.model = init.model;
    this.chatWrapper = init.chatWrapper;
    this.digest = init.digest;
    this.name = init.name;
    this.backend = init.backend;
    this.threads = init.threads;
    this.contextSize = init.contextSize;
    this.maxSequences = init.maxSequences;
    this.verifiedBytes = init.verifiedBytes;
    this.loadMs = init.loadMs;
    this.onUnloaded = init.onUnloaded;
    this.shared = init.sharedContext;
  }

  get chatWrapperName(): string {
    return this.chatWrapper.wrapperName;
  }

  get openSequences(): number {
    return this.open.size;
  }

  async openSequence(options: { dedicatedContext?: boolean } = {}): Promise<ModelSequence> {
    this.ensureLoaded();
    if (this.open.size + this.opening >= this.maxSequences)
      throw new EngineError(
        'NO_SEQUENCE',
        `all ${this.maxSequences} sequences of ${this.name} are in use`,
      );
    this.opening += 1;
    let own: LlamaContext | undefined;
    try {
      const context =
        options.dedicatedContext === true
          ? (own = await this.newContext(this.contextSize, 1))
          : this.shared;
      if (this.unloading !== undefined) {
        await own?.dispose();
        throw new EngineError('MODEL_UNLOADED', `${this.name} was unloaded`);
      }
      if (context.sequencesLeft === 0)
        throw new EngineError(
          'NO_SEQUENCE',
          `all ${this.maxSequences} sequences of ${this.name} are in use`,
        );
      const sequence = new LlamaModelSequence(this, context.getSequence());
      this.open.set(sequence, own);
      return sequence;
    } finally {
      this.opening -= 1;
    }
  }

  async release(sequence: LlamaModelSequence): Promise<void> {
    if (!this.open.has(sequence)) return;
    const own = this.open.get(sequence);
    this.open.delete(sequence);
    // Disposing a sequence frees its id and erases its cells in the context.
    await sequence.sequence.dispose();
    // A dedicated context goes with its sequence whatever `disposeContext` says; the shared one
    // stays for the other sessions.
    if (own !== undefined) await own.dispose();
  }

  async sentinel(prompt: string, maxTokens: number): Promise<SentinelResult> {
    this.ensureLoaded();
    if (!Number.isInteger(maxTokens) || maxTokens < 1)
      throw new EngineError('INVALID_REQUEST', 'maxTokens must be a positive integer');
    return this.inFlight.run(new AbortController().signal, async (signal) => {
      const input = this.promptTokens(prompt);
      if (input.length + maxTokens > this.model.trainContextSize)
        throw new EngineError('PROMPT_TOO_LONG', 'the sentinel does not fit the model context');
      // A context of its own: the same tokens in the same batch shapes every time, whatever the
      // sessions are doing.
      const context = await this.newContext(input.length + maxTokens, 1);
      try {
        const sequence = context.getSequence();
        const tokens: Token[] = [];
        // temperature 0: node-llama-cpp takes the likeliest token; the seed is fixed anyway.
        for await (const token of sequence.evaluate(input, { temperature: 0, seed: 0 })) {
          if (signal.aborted) throw abortReason(signal);
          tokens.push(token);
          if (tokens.length >= maxTokens) break;
        }
        return { tokens, text: this.model.detokenize(tokens) };
      } finally {
        await context.dispose();
      }
    });
  }

  async embed(
    inputs: string[],
    signal: AbortSignal,
  ): Promise<{ vectors: number[][]; promptTokens: number }> {
    this.ensureLoaded();
    return this.inFlight.run(signal, async (inner) => {
      const context = await this.embeddingContext();
      const vectors: number[][] = [];
      let promptTokens = 0;
      for (const input of inputs) {
        if (inner.aborted) throw abortReason(inner);
        const length = context.calculateInputLength(input);
        if (length >= this.contextSize)
          throw new EngineError(
            'PROMPT_TOO_LONG',
            `an input is ${length} tokens; the context holds ${this.contextSize}`,
          );
        const embedding = await context.getEmbeddingFor(input);
        vectors.push(normalize(embedding.vector));
        promptTokens += length;
      }
      return { vectors, promptTokens };
    });
  }

  countTokens(text: string): number {
    this.ensureLoaded();
    // As a prompt is tokenized: text only, no leading space added (no BOS either).
    return this.model.tokenize(text, false, 'trimLeadingSpace').length;
  }

  unload(): Promise<void> {
    this.unloading ??= this.doUnload();
    return this.unloading;
  }

  private async doUnload(): Promise<void> {
    await this.inFlight.close();
    for (const sequence of this.open.keys()) sequence.markUnloaded();
    const own = [...this.open.values()];
    this.open.clear();
    for (const context of [this.shared, ...own]) await context?.dispose();
    // An embedding context that failed to be made has nothing to dispose.
    await this.embeddings?.then((c) => c.dispose()).catch(() => undefined);
    this.embeddings = undefined;
    await this.model.dispose();
    this.onUnloaded();
  }

  private ensureLoaded(): void {
    if (this.unloading !== undefined)
      throw new EngineError('MODEL_UNLOADED', `${this.name} was unloaded`);
  }

  private embeddingContext(): Promise<LlamaEmbeddingContext> {
    this.embeddings ??= this.model
      .createEmbeddingContext({ contextSize: this.contextSize, threads: this.threads })
      .catch((error: unknown) => {
        this.embeddings = undefined;
        throw new EngineError('EMBEDDINGS_UNSUPPORTED', `${this.name} cannot compute embeddings`, {
          cause: error,
        });
      });
    return this.embeddings;
  }

  private async newContext(contextSize: number, sequences: number): Promise<LlamaContext> {
    try {
      return await this.model.createContext({ contextSize, sequences, threads: this.threads });
    } catch (error) {
      throw new EngineError('LOAD_FAILED', `a context for ${this.name} could not be made`, {
        cause: error,
      });
    }
  }

  /** The prompt as text tokens after the model's BOS, as llama.cpp feeds a raw prompt. */
  private promptTokens(prompt: string): Token[] {
    const tokens = this.model.tokenize(prompt, false, 'trimLeadingSpace');
    const bos = this.model.tokens.bos;
    if (this.model.tokens.shouldPrependBosToken && bos !== null) tokens.unshift(bos);
    return tokens;
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason instanceof EngineError
    ? signal.reason
    : new EngineError('ABORTED', 'the request was aborted');
}

/** OpenAI's embeddings have unit length (llama.cpp's server normalises them the same way). */
function normalize(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return norm === 0 ? [...vector] : vector.map((x) => x / norm);
}
