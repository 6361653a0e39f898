import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { PROBLEM_MEDIA_TYPE } from '@secai/streams/http';
import type {
  ChatCompletionRequest as ChatBody,
  CompletionRequest as CompletionBody,
} from './api.js';
import type {
  ChatMessage,
  ChatRequest,
  CompletionRequest,
  GenerationResult,
  ToolChoice,
} from './engine/types.js';
import { InferenceError } from './errors.js';

// OpenAI's wire shapes to and from the engine's (pure, but for writing replies).

export const SYSTEM_FINGERPRINT = 'secai-inference';

type Content = string | { type: 'text'; text: string }[];
const textOf = (c: Content | null | undefined): string =>
  c === null || c === undefined ? '' : typeof c === 'string' ? c : c.map((p) => p.text).join('');

function stopsOf(stop: string | string[] | null | undefined): string[] | undefined {
  if (stop === null || stop === undefined) return undefined;
  const list = (Array.isArray(stop) ? stop : [stop]).filter((s) => s.length > 0);
  return list.length > 0 ? list : undefined;
}

/** OpenAI's default temperature is 1; the cap on tokens is the policy's. */
function sampling(
  body: Pick<ChatBody, 'max_tokens' | 'temperature' | 'top_p' | 'seed' | 'stop'>,
  maxTokensCap: number,
  maxTokens: number | null | undefined,
) {
  return {
    maxTokens: Math.min(maxTokens ?? maxTokensCap, maxTokensCap),
    temperature: body.temperature ?? 1,
    ...(body.top_p !== null && body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(body.seed !== null && body.seed !== undefined ? { seed: body.seed } : {}),
    ...(stopsOf(body.stop) ? { stop: stopsOf(body.stop)! } : {}),
  };
}

export function chatRequestOf(body: ChatBody, maxTokensCap: number): ChatRequest {
  const messages: ChatMessage[] = body.messages.map((m) => {
    switch (m.role) {
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content === undefined || m.content === null ? null : textOf(m.content),
          ...(m.tool_calls ? { tool_calls: m.tool_calls } : {}),
        };
      case 'tool':
        return { role: 'tool', content: textOf(m.content), tool_call_id: m.tool_call_id };
      default:
        return { role: m.role, content: textOf(m.content) };
    }
  });
  const format = body.response_format;
  let jsonSchema: Record<string, unknown> | undefined;
  if (format?.type === 'json_object') jsonSchema = { type: 'object' };
  if (format?.type === 'json_schema') jsonSchema = format.json_schema.schema ?? { type: 'object' };
  const tools = body.tools?.map((t) => ({
    name: t.function.name,
    ...(t.function.description !== undefined ? { description: t.function.description } : {}),
    ...(t.function.parameters !== undefined ? { parameters: t.function.parameters } : {}),
  }));
  let toolChoice: ToolChoice | undefined;
  const choice = body.tool_choice;
  if (choice !== undefined)
    toolChoice = typeof choice === 'string' ? choice : { name: choice.function.name };
  if (
    toolChoice !== undefined &&
    typeof toolChoice === 'object' &&
    !tools?.some((t) => t.name === toolChoice.name)
  )
    throw new InferenceError(
      'REQUEST_UNSUPPORTED',
      `tool_choice names ${toolChoice.name}, which is not in tools`,
    );
  if (jsonSchema && tools && tools.length > 0 && toolChoice !== 'none')
    throw new InferenceError(
      'REQUEST_UNSUPPORTED',
      'response_format json_schema cannot be combined with tools',
    );
  return {
    messages,
    ...sampling(body, maxTokensCap, body.max_completion_tokens ?? body.max_tokens),
    ...(jsonSchema ? { jsonSchema } : {}),
    ...(tools && tools.length > 0 ? { tools } : {}),
    ...(toolChoice !== undefined ? { toolChoice } : {}),
  };
}

export function completionRequestOf(body: CompletionBody, maxTokensCap: number): CompletionRequest {
  const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!;
  return { prompt, ...sampling(body, maxTokensCap, body.max_tokens) };
}

/** SHA-256 and length of what was asked or answered: what the events carry instead of text. */
export function fingerprint(text: string): { digest: string; length: number } {
  return {
    digest: `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`,
    length: text.length,
  };
}

export function promptTextOf(request: ChatRequest | CompletionRequest): string {
  return 'prompt' in request ? request.prompt : JSON.stringify(request.messages);
}

export function answerTextOf(result: GenerationResult): string {
  return result.toolCalls.length > 0
    ? `${result.text}\n${JSON.stringify(result.toolCalls)}`
    : result.text;
}

export const newCompletionId = (prefix: string) =>
  `${prefix}-${randomBytes(12).toString('base64url')}`;

export function usageOf(r: GenerationResult) {
  return {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
  };
}

export function toolCallsOf(r: GenerationResult) {
  return r.toolCalls.map((c) => ({
    id: c.id,
    type: 'function' as const,
    function: { name: c.name, arguments: c.arguments },
  }));
}

/** A problem document that OpenAI clients read as an API error too (its `error` member). */
export function sendOpenAiProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  retryAfterSeconds?: number,
): FastifyReply {
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
  // OpenAI clients retry 409 by default; a contained or changed model will not come back.
  else if (status === 409) void reply.header('x-should-retry', 'false');
  return reply
    .code(status)
    .type(PROBLEM_MEDIA_TYPE)
    .send({
      type: `urn:secai:problem:${code}`,
      title: code,
      status,
      code,
      detail,
      error: { message: detail, type: code.toLowerCase(), code, param: null },
    });
}

/**
 * Streamed text in chunks of at most one window: the first piece goes out at once (time to first
 * token is untouched), later pieces that arrive within `windowMs` of the last chunk ride together.
 * A token takes about a millisecond on a small model; one SSE frame per token cost the API a third
 * of its rate (JSON, a write, and the client's parse per frame), and no reader sees 8 ms.
 */
export class TextCoalescer {
  #pending = '';
  #timer: NodeJS.Timeout | null = null;
  #last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly emit: (text: string) => void,
    private readonly windowMs = 8,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(text: string): void {
    this.#pending += text;
    const since = this.now() - this.#last;
    if (since >= this.windowMs) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.windowMs - since);
  }

  /** Sends what is pending (before the final frame, or an error frame). */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#pending.length === 0) return;
    const text = this.#pending;
    this.#pending = '';
    this.#last = this.now();
    this.emit(text);
  }
}

/** Server-sent events on a hijacked reply, in OpenAI's framing (`data: {...}`, then `[DONE]`). */
export class SseWriter {
  #open = true;

  constructor(private readonly reply: FastifyReply) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.on('close', () => {
      this.#open = false;
    });
  }

  get open(): boolean {
    return this.#open && !this.reply.raw.writableEnded;
  }

  send(data: unknown): void {
    if (this.open) this.reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** An error mid-stream: OpenAI clients throw it as an APIError with this code. */
  fail(status: number, code: string, message: string): void {
    this.send({ error: { message, type: code.toLowerCase(), code, param: null, status } });
    this.end();
  }

  end(): void {
    if (!this.open) return;
    this.reply.raw.write('data: [DONE]\n\n');
    this.reply.raw.end();
    this.#open = false;
  }
}
