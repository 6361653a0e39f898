import { randomBytes, randomInt } from 'node:crypto';
import { EngineError } from './errors.js';
import type { EngineFinishReason, SamplingOptions } from './types.js';

// OpenAI's sampling parameters in node-llama-cpp's terms, and node-llama-cpp's stop reasons in
// OpenAI's. node-llama-cpp's own defaults differ from OpenAI's: it samples from the 40 likeliest
// tokens with top-p 0.95, applies a repeat penalty, and seeds from the current second (two
// requests in the same second with the same prompt get the same "random" answer). The API
// promises OpenAI's meaning, so each of those is set explicitly.

export interface NodeLlamaSampling {
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  repeatPenalty: false;
}

export function toNodeLlamaSampling(options: SamplingOptions): NodeLlamaSampling {
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1)
    throw new EngineError('INVALID_REQUEST', 'maxTokens must be a positive integer');
  if (!(options.temperature >= 0))
    throw new EngineError('INVALID_REQUEST', 'temperature must be 0 or more');
  return {
    // 0 is greedy: node-llama-cpp then takes the likeliest token and ignores the rest.
    temperature: options.temperature,
    // 0 is the whole vocabulary (OpenAI has no top-k).
    topK: 0,
    topP: options.topP ?? 1,
    seed: options.seed ?? randomInt(0, 2 ** 31 - 1),
    repeatPenalty: false,
  };
}

/** Stop strings as node-llama-cpp's custom stop triggers (an empty string would stop at once). */
export function stopTriggers(stop: readonly string[] | undefined): string[] | undefined {
  const triggers = (stop ?? []).filter((s) => s.length > 0);
  return triggers.length > 0 ? triggers : undefined;
}

export type NodeLlamaStopReason =
  | 'eogToken'
  | 'stopGenerationTrigger'
  | 'customStopTrigger'
  | 'functionCalls'
  | 'maxTokens'
  | 'abort';

export function finishReasonOf(stopReason: NodeLlamaStopReason): EngineFinishReason {
  switch (stopReason) {
    case 'eogToken':
    case 'stopGenerationTrigger':
    case 'customStopTrigger':
      return 'stop';
    case 'functionCalls':
      return 'tool_calls';
    case 'maxTokens':
      return 'length';
    case 'abort':
      return 'aborted';
  }
}

/** OpenAI-shaped tool call ids: `call_` and 24 random hex digits. */
export function newToolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}
