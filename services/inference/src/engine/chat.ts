import type {
  ChatModelFunctions,
  ChatWrapper,
  Llama,
  LlamaChat,
  LlamaCompletion,
  LlamaModel,
} from 'node-llama-cpp';
import { toChatHistory, toolMode } from './chatHistory.js';
import { EngineError } from './errors.js';
import type { GenerationMeter } from './meter.js';
import { finishReasonOf, newToolCallId, stopTriggers, toNodeLlamaSampling } from './sampling.js';
import { forceToolCall, jsonSchemaGrammar } from './toolCalls.js';
import type { ChatRequest, EngineFinishReason, ToolCall } from './types.js';

// One chat turn through LlamaChat, node-llama-cpp's low-level chat: it renders the history with
// the model's chat wrapper and RETURNS the function calls the model makes (LlamaChatSession
// would execute them; this service never executes a tool).

export interface ChatDeps {
  llama: Llama;
  model: LlamaModel;
  chat: LlamaChat;
  completion: LlamaCompletion;
  /** Tokens one sequence holds. */
  contextSize: number;
}

export interface TurnOutcome {
  text: string;
  toolCalls: ToolCall[];
  finishReason: EngineFinishReason;
}

export async function runChatTurn(
  deps: ChatDeps,
  request: ChatRequest,
  signal: AbortSignal,
  meter: GenerationMeter,
): Promise<TurnOutcome> {
  const sampling = toNodeLlamaSampling(request);
  const mode = toolMode(request.tools, request.toolChoice);
  if (request.jsonSchema !== undefined && mode.kind === 'auto')
    throw new EngineError(
      'INVALID_REQUEST',
      "a JSON schema answer cannot be combined with tools the model may call (use tool_choice 'none' or force a tool)",
    );
  const history = toChatHistory(request.messages);
  const functions = mode.kind === 'none' ? undefined : mode.functions;
  if (functions !== undefined) await checkParamSchemas(deps.llama, functions);

  const wrapper: ChatWrapper = deps.chat.chatWrapper;
  const { contextText } = wrapper.generateContextState({
    chatHistory: history,
    ...(functions === undefined
      ? {}
      : { availableFunctions: functions, documentFunctionParams: true }),
  });
  meter.promptTokens = contextText.tokenize(deps.model.tokenizer).length;
  // node-llama-cpp keeps one cell free and would otherwise drop old messages to make room
  // (a context shift); the answer is bounded instead, and a prompt that cannot fit is refused.
  const room = deps.contextSize - 1 - meter.promptTokens;
  if (room < 1)
    throw new EngineError(
      'PROMPT_TOO_LONG',
      `the prompt is ${meter.promptTokens} tokens; a sequence holds ${deps.contextSize}`,
    );
  const maxTokens = Math.min(request.maxTokens, room);

  if (mode.kind === 'forced') {
    const forced = await forceToolCall(
      { llama: deps.llama, model: deps.model, completion: deps.completion, wrapper },
      {
        contextText,
        functions: mode.functions,
        names: mode.names,
        sampling,
        maxTokens,
        signal,
        meter,
      },
    );
    return { text: '', ...forced };
  }

  const grammar =
    request.jsonSchema === undefined
      ? undefined
      : await jsonSchemaGrammar(deps.llama, request.jsonSchema);
  const customStopTriggers = stopTriggers(request.stop);
  const response = await deps.chat.generateResponse(history, {
    ...sampling,
    maxTokens,
    signal,
    stopOnAbortSignal: true,
    ...(customStopTriggers === undefined ? {} : { customStopTriggers }),
    onTextChunk: meter.text,
    onToken: meter.token,
    ...(grammar !== undefined
      ? { grammar }
      : functions !== undefined
        ? { functions, documentFunctionParams: true, onFunctionCallParamsChunk: meter.token }
        : {}),
  });
  const toolCalls = (response.functionCalls ?? []).map((call): ToolCall => ({
    id: newToolCallId(),
    name: call.functionName,
    arguments: JSON.stringify(call.params ?? {}),
  }));
  return {
    text: response.response,
    toolCalls,
    finishReason: finishReasonOf(response.metadata.stopReason),
  };
}

/**
 * node-llama-cpp builds a function's parameter grammar only when the model starts calling it; a
 * schema it cannot handle would then fail mid-answer. Building them first refuses it up front.
 */
async function checkParamSchemas(llama: Llama, functions: ChatModelFunctions): Promise<void> {
  for (const definition of Object.values(functions))
    if (definition.params !== undefined) await jsonSchemaGrammar(llama, definition.params);
}
