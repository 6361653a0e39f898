import { performance } from 'node:perf_hooks';
import type { LlamaContextSequence } from 'node-llama-cpp';
import type { EngineFinishReason, GenerationResult, ToolCall } from './types.js';

/**
 * One generation's counts: prompt tokens as the tokenizer counted the rendered prompt, completion
 * tokens as the sequence's token meter counted what the model generated (including tokens held
 * back by a stop trigger and the tokens of a tool call), and the time to the first of them.
 */
export class GenerationMeter {
  promptTokens = 0;
  /** What was streamed so far: the answer when a generation is cut short by an exception. */
  streamedText = '';
  private readonly startedAt = performance.now();
  private firstTokenAt: number | null = null;
  private readonly outputBefore: number;

  constructor(
    private readonly sequence: LlamaContextSequence,
    private readonly onText: ((text: string) => void) | undefined,
  ) {
    this.outputBefore = sequence.tokenMeter.usedOutputTokens;
  }

  /** Called on every generated token or chunk; only the first one matters. */
  readonly token = (): void => {
    this.firstTokenAt ??= performance.now();
  };

  readonly text = (text: string): void => {
    this.token();
    this.streamedText += text;
    this.onText?.(text);
  };

  get completionTokens(): number {
    return this.sequence.tokenMeter.usedOutputTokens - this.outputBefore;
  }

  result(
    finishReason: EngineFinishReason,
    text: string,
    toolCalls: ToolCall[] = [],
  ): GenerationResult {
    return {
      text,
      toolCalls,
      finishReason,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      timeToFirstTokenMs: this.firstTokenAt === null ? null : this.firstTokenAt - this.startedAt,
    };
  }
}
