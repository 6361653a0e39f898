import type {
  ChatHistoryItem,
  ChatModelFunctionCall,
  ChatModelFunctions,
  ChatModelResponse,
} from 'node-llama-cpp';
import { EngineError } from './errors.js';
import type { ChatMessage, ToolChoice, ToolDefinition } from './types.js';

// OpenAI messages and tools into node-llama-cpp's chat history and functions, pure. The model's
// chat wrapper renders the result with the model's own template.

/** OpenAI's rule for function names; it also keeps names safe inside a GBNF string literal. */
export const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The history node-llama-cpp generates from: system/developer → system, user → user, assistant →
 * a model response (its text, then its tool calls with the results the later `tool` messages
 * give), ending with the model response to generate. After tool results the model continues
 * that same response, as node-llama-cpp's own chat session does; otherwise a new empty one.
 */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const pending = new Map<string, ChatModelFunctionCall>();
  for (const message of messages) {
    if (message.role !== 'tool') assertAnswered(pending);
    switch (message.role) {
      case 'system':
      case 'developer':
        history.push({ type: 'system', text: message.content });
        break;
      case 'user':
        history.push({ type: 'user', text: message.content });
        break;
      case 'assistant': {
        const response: ChatModelResponse['response'] = [];
        if (message.content !== null && message.content !== '') response.push(message.content);
        for (const call of message.tool_calls ?? []) {
          const item: ChatModelFunctionCall = {
            type: 'functionCall',
            name: call.function.name,
            params: parseJsonOr(call.function.arguments),
            result: undefined,
          };
          pending.set(call.id, item);
          response.push(item);
        }
        history.push({ type: 'model', response });
        break;
      }
      case 'tool': {
        const call = pending.get(message.tool_call_id);
        if (call === undefined)
          throw new EngineError(
            'INVALID_REQUEST',
            `tool message answers ${message.tool_call_id}, which no earlier assistant message called`,
          );
        call.result = parseJsonOr(message.content);
        pending.delete(message.tool_call_id);
        break;
      }
    }
  }
  assertAnswered(pending);
  const last = history.at(-1);
  const lastItem = last?.type === 'model' ? last.response.at(-1) : undefined;
  const continuesAfterToolResults =
    typeof lastItem === 'object' && lastItem.type === 'functionCall';
  if (!continuesAfterToolResults) history.push({ type: 'model', response: [] });
  return history;
}

export type ToolMode =
  | { kind: 'none' }
  /** The model may call any of the functions, or answer. */
  | { kind: 'auto'; functions: ChatModelFunctions }
  /** The answer is a call to one of `names` (one name: that function). */
  | { kind: 'forced'; functions: ChatModelFunctions; names: string[] };

/** What `tools` and `toolChoice` ask for; `none` offers no function at all. */
export function toolMode(
  tools: readonly ToolDefinition[] | undefined,
  choice: ToolChoice | undefined,
): ToolMode {
  if (choice === 'none') return { kind: 'none' };
  const list = tools ?? [];
  if (list.length === 0) {
    if (choice === 'required' || typeof choice === 'object')
      throw new EngineError('INVALID_REQUEST', 'tool_choice forces a call but no tools were given');
    return { kind: 'none' };
  }
  const functions: Record<string, ChatModelFunctions[string]> = {};
  for (const tool of list) {
    if (!TOOL_NAME.test(tool.name))
      throw new EngineError(
        'INVALID_REQUEST',
        `tool name ${JSON.stringify(tool.name)} is not [A-Za-z0-9_-]{1,64}`,
      );
    if (Object.hasOwn(functions, tool.name))
      throw new EngineError('INVALID_REQUEST', `tool ${tool.name} is defined twice`);
    functions[tool.name] = {
      ...(tool.description === undefined ? {} : { description: tool.description }),
      ...(tool.parameters === undefined ? {} : { params: tool.parameters as never }),
    };
  }
  if (choice === 'required') return { kind: 'forced', functions, names: list.map((t) => t.name) };
  if (typeof choice === 'object') {
    if (!Object.hasOwn(functions, choice.name))
      throw new EngineError(
        'INVALID_REQUEST',
        `tool_choice names ${choice.name}, which is not among the tools`,
      );
    return { kind: 'forced', functions, names: [choice.name] };
  }
  return { kind: 'auto', functions };
}

function assertAnswered(pending: Map<string, ChatModelFunctionCall>): void {
  if (pending.size > 0)
    throw new EngineError(
      'INVALID_REQUEST',
      `tool calls ${[...pending.keys()].join(', ')} have no tool message with their result`,
    );
}

/** Arguments and results are JSON text in OpenAI; the chat wrapper renders values. */
function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
