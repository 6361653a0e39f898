import type { InferenceBackendName } from '@secai/contracts';

// What the HTTP layer needs from node-llama-cpp, and nothing else: the gateway and the session
// manager are written against these types, and only `engine/` imports node-llama-cpp.

/** `inference.gpu` in policy. */
export type GpuPreference = 'auto' | 'off' | 'cuda' | 'vulkan';

export interface EngineOptions {
  gpu: GpuPreference;
  /** Threads per context: set explicitly, node-llama-cpp's default spin-waits on every core. */
  threads: number;
  /** Called once with a clear line when a GPU backend was asked for and CPU is used instead. */
  onFallback?: (message: string) => void;
}

/** A trusted model as the registry's manifest lists it. */
export interface TrustedModel {
  /** `sha256:<hex>` from `model.stored`. */
  digest: string;
  name: string;
  /** Absolute path of the stored file. */
  path: string;
  sizeBytes: number;
}

export interface LoadOptions {
  /** Tokens per sequence (node-llama-cpp sizes the context `contextSize × maxSequences`). */
  contextSize: number;
  /**
   * How many sequences (sessions) the model holds at most, dedicated ones included: the shared
   * context is made with this many sequences.
   */
  maxSequences: number;
}

/** OpenAI chat messages, as the API validated them. */
export type ChatMessage =
  | { role: 'system' | 'developer'; content: string }
  | { role: 'user'; content: string }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: {
        id: string;
        type: 'function';
        function: { name: string; arguments: string };
      }[];
    }
  | { role: 'tool'; content: string; tool_call_id: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON schema of the arguments (object). */
  parameters?: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface SamplingOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP?: number;
  seed?: number;
  stop?: string[];
}

export interface ChatRequest extends SamplingOptions {
  messages: ChatMessage[];
  /** `response_format: json_schema`: the answer is constrained by a grammar made from it. */
  jsonSchema?: Record<string, unknown>;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
}

export interface CompletionRequest extends SamplingOptions {
  prompt: string;
}

export interface GenerationHooks {
  /** Each piece of text as it is generated (for SSE); never logged. */
  onText?: (text: string) => void;
  signal: AbortSignal;
}

export type EngineFinishReason = 'stop' | 'length' | 'tool_calls' | 'aborted';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, as OpenAI returns it. */
  arguments: string;
}

export interface GenerationResult {
  text: string;
  toolCalls: ToolCall[];
  finishReason: EngineFinishReason;
  promptTokens: number;
  completionTokens: number;
  /** From the call to the first generated token; null when none was generated. */
  timeToFirstTokenMs: number | null;
}

/** One conversation's context sequence. Nothing of one sequence is visible to another. */
export interface ModelSequence {
  chat(request: ChatRequest, hooks: GenerationHooks): Promise<GenerationResult>;
  complete(request: CompletionRequest, hooks: GenerationHooks): Promise<GenerationResult>;
  /** Forgets the conversation (standard mode reuses the sequence after this). */
  clear(): Promise<void>;
  /**
   * Gives the sequence back (its cells in the context are erased). A dedicated context is always
   * disposed with its sequence (`disposeContext` only says so explicitly); the shared context
   * stays until the model is unloaded.
   */
  dispose(options?: { disposeContext?: boolean }): Promise<void>;
}

export interface SentinelResult {
  /** Token ids produced under greedy decoding: what the GPU watch compares. */
  tokens: number[];
  text: string;
}

export interface LoadedModel {
  readonly digest: string;
  readonly name: string;
  readonly backend: InferenceBackendName;
  /** Tokens per sequence, as node-llama-cpp made the context. */
  readonly contextSize: number;
  /** The chat wrapper node-llama-cpp resolved from the model's template (e.g. `ChatML`). */
  readonly chatWrapperName: string;
  /** Bytes re-hashed through the descriptor that was loaded. */
  readonly verifiedBytes: number;
  readonly loadMs: number;
  /**
   * A fresh sequence (throws `EngineError('NO_SEQUENCE')` when every slot is in use). With
   * `dedicatedContext` (sensitive sessions) it gets a context of its own, which
   * `dispose({ disposeContext: true })` frees, so nothing of it outlives the session.
   */
  openSequence(options?: { dedicatedContext?: boolean }): Promise<ModelSequence>;
  /** Greedy, seeded, from an empty context: the same model and backend give the same tokens. */
  sentinel(prompt: string, maxTokens: number): Promise<SentinelResult>;
  /**
   * Embeddings (unit length, as OpenAI's), when the model supports them (throws
   * `EngineError('EMBEDDINGS_UNSUPPORTED')`); an aborted signal throws `EngineError('ABORTED')`.
   */
  embed(
    inputs: string[],
    signal: AbortSignal,
  ): Promise<{ vectors: number[][]; promptTokens: number }>;
  countTokens(text: string): number;
  /** Aborts every generation in flight on it, then frees it. Idempotent. */
  unload(): Promise<void>;
}

export interface Engine {
  /** What `gpu` resolved to on this host. */
  readonly backend: InferenceBackendName;
  /** Threads each context uses (as asked; reported in `inference.model.loaded`). */
  readonly threads: number;
  /**
   * Re-hashes the file through one open descriptor, refuses a mismatch
   * (`ModelVerificationError`), and loads that same descriptor (no window for a swap by name).
   */
  load(model: TrustedModel, options: LoadOptions): Promise<LoadedModel>;
  dispose(): Promise<void>;
}
