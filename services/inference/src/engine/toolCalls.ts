import {
  LlamaText,
  type ChatModelFunctions,
  type ChatWrapper,
  type Llama,
  type LlamaCompletion,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { EngineError } from './errors.js';
import type { GenerationMeter } from './meter.js';
import { newToolCallId, type NodeLlamaSampling } from './sampling.js';
import type { EngineFinishReason, ToolCall } from './types.js';

// A forced tool call (tool_choice `required` or `{name}`). node-llama-cpp lets the model decide
// whether to call; to force one, the prompt (rendered by the model's chat wrapper, functions
// documented) is followed by the wrapper's own call syntax, then the function name is generated
// under a grammar of the allowed names (skipped when there is one), then the arguments under the
// grammar of that function's parameter schema. Every token the model produces is constrained, so
// even a model with random weights produces a call whose name exists and whose arguments parse,
// unless maxTokens cuts it short (then finishReason `length` and no call).

export interface ForcedCallDeps {
  llama: Llama;
  model: LlamaModel;
  completion: LlamaCompletion;
  wrapper: ChatWrapper;
}

export interface ForcedCallRequest {
  /** The rendered prompt up to the assistant turn, functions documented. */
  contextText: LlamaText;
  functions: ChatModelFunctions;
  names: string[];
  sampling: NodeLlamaSampling;
  maxTokens: number;
  signal: AbortSignal;
  meter: GenerationMeter;
}

export interface ForcedCallOutcome {
  finishReason: EngineFinishReason;
  toolCalls: ToolCall[];
}

export async function forceToolCall(
  deps: ForcedCallDeps,
  request: ForcedCallRequest,
): Promise<ForcedCallOutcome> {
  const { settings } = deps.wrapper;
  const call = settings.functions.call;
  const beforeName = LlamaText([
    request.contextText,
    settings.functions.parallelism?.call.sectionPrefix ?? '',
    call.prefix,
  ]);
  const generate = async (
    prefix: LlamaText,
    grammarText: { gbnf: string } | { schema: unknown },
  ) => {
    const grammar =
      'gbnf' in grammarText
        ? await deps.llama.createGrammar({ grammar: grammarText.gbnf })
        : await jsonSchemaGrammar(deps.llama, grammarText.schema);
    return deps.completion.generateCompletionWithMeta(completionInput(deps.model, prefix), {
      ...request.sampling,
      grammar,
      maxTokens: request.maxTokens - request.meter.completionTokens,
      signal: request.signal,
      stopOnAbortSignal: true,
      onToken: request.meter.token,
    });
  };

  let name = request.names[0];
  if (request.names.length > 1) {
    const chosen = await generate(beforeName, { gbnf: namesGrammar(request.names) });
    if (chosen.metadata.stopReason === 'abort') return { finishReason: 'aborted', toolCalls: [] };
    name = request.names.find((n) => n === chosen.response);
    if (name === undefined) return { finishReason: 'length', toolCalls: [] };
  }
  if (name === undefined) throw new EngineError('INVALID_REQUEST', 'no tool to call');
  const params = request.functions[name]?.params;
  if (params === undefined)
    return {
      finishReason: 'tool_calls',
      toolCalls: [{ id: newToolCallId(), name, arguments: '{}' }],
    };

  // The name took the whole budget: no tokens are left for the arguments.
  if (request.meter.completionTokens >= request.maxTokens)
    return { finishReason: 'length', toolCalls: [] };
  const args = await generate(LlamaText([beforeName, name, call.paramsPrefix]), { schema: params });
  const stop = args.metadata.stopReason;
  if (stop === 'abort') return { finishReason: 'aborted', toolCalls: [] };
  if (stop === 'maxTokens' || !parses(args.response))
    return { finishReason: 'length', toolCalls: [] };
  return {
    finishReason: 'tool_calls',
    toolCalls: [{ id: newToolCallId(), name, arguments: args.response.trim() }],
  };
}

/** A JSON schema as a grammar; node-llama-cpp's errors become `INVALID_SCHEMA`. */
export async function jsonSchemaGrammar(llama: Llama, schema: unknown) {
  try {
    return await llama.createGrammarForJsonSchema(schema as never);
  } catch (error) {
    throw new EngineError('INVALID_SCHEMA', 'the JSON schema cannot be turned into a grammar', {
      cause: error,
    });
  }
}

/** Names are checked against TOOL_NAME ([A-Za-z0-9_-]) first, so JSON quoting is GBNF quoting. */
function namesGrammar(names: readonly string[]): string {
  return `root ::= ${names.map((n) => JSON.stringify(n)).join(' | ')}`;
}

/**
 * The rendered context starts with the model's BOS token; LlamaCompletion prepends it again
 * itself, so it is taken off here.
 */
function completionInput(model: LlamaModel, text: LlamaText): Token[] {
  const tokens = text.tokenize(model.tokenizer);
  const bos = model.tokens.bos;
  if (model.tokens.shouldPrependBosToken && bos !== null && tokens[0] === bos) tokens.shift();
  return tokens;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
