import type { LlamaCompletion, LlamaModel } from 'node-llama-cpp';
import { EngineError } from './errors.js';
import type { GenerationMeter } from './meter.js';
import { finishReasonOf, stopTriggers, toNodeLlamaSampling } from './sampling.js';
import type { CompletionRequest } from './types.js';
import type { TurnOutcome } from './chat.js';

/**
 * Raw text completion (`/v1/completions`). The prompt is tokenized as text: special-token
 * markup in it is not parsed, so a prompt cannot forge template tokens. The model's BOS is
 * prepended by LlamaCompletion, as llama.cpp does.
 */
export async function runCompletion(
  deps: { model: LlamaModel; completion: LlamaCompletion; contextSize: number },
  request: CompletionRequest,
  signal: AbortSignal,
  meter: GenerationMeter,
): Promise<TurnOutcome> {
  const sampling = toNodeLlamaSampling(request);
  const tokens = deps.model.tokenize(request.prompt, false, 'trimLeadingSpace');
  const bos = deps.model.tokens.shouldPrependBosToken && deps.model.tokens.bos !== null ? 1 : 0;
  meter.promptTokens = tokens.length + bos;
  // LlamaCompletion would cut the start of a long prompt to fit: refused instead.
  const room = deps.contextSize - meter.promptTokens;
  if (room < 1)
    throw new EngineError(
      'PROMPT_TOO_LONG',
      `the prompt is ${meter.promptTokens} tokens; a sequence holds ${deps.contextSize}`,
    );
  const customStopTriggers = stopTriggers(request.stop);
  const response = await deps.completion.generateCompletionWithMeta(tokens, {
    ...sampling,
    maxTokens: Math.min(request.maxTokens, room),
    disableContextShift: true,
    signal,
    stopOnAbortSignal: true,
    ...(customStopTriggers === undefined ? {} : { customStopTriggers }),
    onTextChunk: meter.text,
    onToken: meter.token,
  });
  return {
    text: response.response,
    toolCalls: [],
    finishReason: finishReasonOf(response.metadata.stopReason),
  };
}
