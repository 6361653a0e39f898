import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { ChatCompletionRequest } from '@secai/inference/api';
import { contractProblems } from '../bounds.js';
import { CliError } from '../errors.js';
import { INFERENCE, reachFailure } from './gateway.js';

// The pure parts of `secai chat`: what a typed line means, which model to talk to, the sampling
// options held to the service's contract, the messages of a turn, how a streamed answer is
// shown, and how a failure is named. chat.ts does the I/O around them.

/** What one line typed (or piped) into the chat asks for. */
export type ChatInput =
  | { kind: 'prompt'; text: string }
  | { kind: 'exit' }
  | { kind: 'reset' }
  | { kind: 'help' }
  | { kind: 'empty' }
  | { kind: 'unknown'; command: string };

export const CHAT_HELP =
  '/reset closes this session and opens a new one (the conversation starts over); /exit closes it and ends; //text sends a line that starts with /';

/**
 * A line is a command when it starts with `/`; `//` sends the rest, one slash removed, as a
 * prompt. An unknown command is never sent to the model (a mistyped `/exti` is not a question).
 */
export function parseChatLine(line: string): ChatInput {
  const text = line.replace(/[\r\n]+$/, '');
  if (text.trim() === '') return { kind: 'empty' };
  const trimmed = text.trim();
  if (trimmed.startsWith('//')) return { kind: 'prompt', text: text.replace('/', '') };
  if (!trimmed.startsWith('/')) return { kind: 'prompt', text };
  const command = trimmed.split(/\s+/, 1)[0]!.toLowerCase();
  if (command === '/exit' || command === '/quit') return { kind: 'exit' };
  if (command === '/reset') return { kind: 'reset' };
  if (command === '/help' || command === '/?') return { kind: 'help' };
  return { kind: 'unknown', command: trimmed.split(/\s+/, 1)[0]! };
}

/**
 * The model to talk to: the one named, else the only one the service serves; none, or several
 * with none named, is an error that says what to do.
 */
export function pickModel(servable: readonly { id: string }[], requested?: string): string {
  if (requested !== undefined) return requested;
  if (servable.length === 1) return servable[0]!.id;
  if (servable.length === 0)
    throw new CliError(
      'MODEL_UNKNOWN',
      'the inference service serves no model: import one with secai model import (only promoted, available GGUF models are served)',
    );
  throw new CliError(
    'USAGE',
    `${servable.length} models are served; name one: secai chat MODEL (${servable.map((m) => m.id).join(', ')})`,
  );
}

export interface SamplingOptions {
  maxTokens?: number;
  temperature?: number;
  system?: string;
}

export interface Sampling {
  max_tokens?: number;
  temperature?: number;
}

const SAMPLING_OPTIONS = {
  '/model': 'MODEL',
  '/max_tokens': '--max-tokens',
  '/temperature': '--temperature',
  '/messages/0/content': '--system',
};

/**
 * The options held to the chat request's contract before anything is sent, so a bad value is
 * named by the option typed rather than refused by the service at the first line (pure).
 */
export function chatSampling(model: string | undefined, opts: SamplingOptions): Sampling {
  const sampling: Sampling = {
    ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
    ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
  };
  if (opts.system !== undefined && opts.system.trim() === '')
    throw new CliError('USAGE', '--system must not be empty');
  const probe = {
    // The model is checked only when named: without one the service's only model is used.
    model: model ?? 'any',
    messages: [
      opts.system !== undefined
        ? { role: 'system', content: opts.system }
        : { role: 'user', content: '' },
    ],
    ...sampling,
  };
  const problems = contractProblems(ChatCompletionRequest, probe, SAMPLING_OPTIONS).map(
    withoutNullBranch,
  );
  if (problems.length > 0)
    throw new CliError('USAGE', `outside the chat request's contract: ${problems.join('; ')}`);
  return sampling;
}

/**
 * Optional fields are `T | null`: the null branch's "must be null" says nothing about the value
 * typed, so it is dropped from `--option: message; message` (pure).
 */
function withoutNullBranch(problem: string): string {
  const at = problem.indexOf(': ');
  const messages = problem.slice(at + 2).split('; ');
  const useful = messages.filter((m) => m !== 'must be null');
  return useful.length > 0 ? `${problem.slice(0, at)}: ${useful.join('; ')}` : problem;
}

/** One finished exchange, kept so the next turn carries the conversation. */
export interface Exchange {
  prompt: string;
  answer: string;
}

/** The messages of a turn: the system prompt, the conversation so far, the new line (pure). */
export function messagesFor(
  system: string | undefined,
  history: readonly Exchange[],
  prompt: string,
): ChatCompletionMessageParam[] {
  return [
    ...(system !== undefined ? [{ role: 'system' as const, content: system }] : []),
    ...history.flatMap((e) => [
      { role: 'user' as const, content: e.prompt },
      { role: 'assistant' as const, content: e.answer },
    ]),
    { role: 'user' as const, content: prompt },
  ];
}

/** How a chat is shown: text for a person, or one JSON object a line for a program. */
export interface ChatView {
  session(id: string, model: string): void;
  delta(text: string): void;
  answered(result: StreamResult): void;
  notice(text: string): void;
  failed(err: CliError): void;
  closed(id: string): void;
}

export interface StreamResult {
  text: string;
  finishReason: string | null;
  /** How many chunks carried text: more than one is an answer that was streamed. */
  chunks: number;
}

/**
 * Shows the answer's text as each chunk arrives and returns what was said. A chunk carrying an
 * error frame makes the openai client throw (the stream was ended by the service).
 */
export async function renderStream(
  stream: AsyncIterable<ChatCompletionChunk>,
  view: Pick<ChatView, 'delta'>,
): Promise<StreamResult> {
  let text = '';
  let finishReason: string | null = null;
  let chunks = 0;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    const piece = choice.delta.content;
    if (piece) {
      chunks++;
      text += piece;
      view.delta(piece);
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  return { text, finishReason, chunks };
}

/**
 * A model's text made safe for a terminal: control characters (an escape sequence could move
 * the cursor, retitle the window or rewrite what was printed) are shown as visible symbols;
 * newlines and tabs are kept (pure).
 */
export function printable(text: string): string {
  let shown = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    if (code === 0x0a || code === 0x09) shown += c;
    // C0 controls have pictures (U+2400..U+241F), DEL has U+2421, C1 controls have none.
    else if (code < 0x20) shown += String.fromCharCode(0x2400 + code);
    else if (code === 0x7f) shown += '\u2421';
    else if (code >= 0x80 && code <= 0x9f) shown += '\ufffd';
    else shown += c;
  }
  return shown;
}

/**
 * A streamed turn as it ended: the openai client ends an aborted stream as if it had finished,
 * and a stream cut short has no finish reason; neither is an answer to keep (pure).
 */
export function endOfTurn(result: StreamResult, aborted: boolean): StreamResult {
  if (aborted) throw new APIUserAbortError();
  if (result.finishReason === null)
    throw new CliError(
      'GATEWAY_FAILED',
      'the answer stream ended before the model finished (no finish reason): the connection was cut',
    );
  return result;
}

/** The view that writes text: the answer as it streams, notices and failures on stderr. */
export function textView(write: (text: string) => void, err: (line: string) => void): ChatView {
  return {
    session: () => undefined,
    delta: (text) => write(printable(text)),
    answered: (r) => {
      write('\n');
      if (r.finishReason === 'length') err('(the answer was cut at --max-tokens)');
    },
    notice: (text) => err(text),
    failed: (e) => err(`secai: ${e.code}: ${e.message}`),
    closed: () => undefined,
  };
}

/** The view for `--json`: one object a line, never the prompt. */
export function jsonView(out: (line: string) => void): ChatView {
  const line = (o: Record<string, unknown>) => out(JSON.stringify(o));
  return {
    session: (id, model) => line({ event: 'session', id, model }),
    delta: (text) => line({ event: 'delta', text }),
    answered: (r) =>
      line({
        event: 'answer',
        finishReason: r.finishReason,
        chunks: r.chunks,
        length: r.text.length,
      }),
    notice: (text) => line({ event: 'notice', text }),
    failed: (e) => line({ event: 'error', code: e.code, message: e.message }),
    closed: (id) => line({ event: 'closed', id }),
  };
}

/** The service's own problem code carried by an openai client error, if any. */
export function problemCodeOf(err: unknown): string | undefined {
  if (!(err instanceof APIError)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

/**
 * An openai client failure in the CLI's terms: nothing listening, a timeout, or the service's
 * refusal named by its status and code (a refusal mid-stream has no status: the stream was ended).
 */
export function chatFailure(err: unknown, url: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof APIConnectionTimeoutError)
    return new CliError('TIMEOUT', `the inference service at ${url} did not answer in time`, {
      cause: err,
    });
  if (err instanceof APIConnectionError) return reachFailure(err.cause ?? err, INFERENCE, url);
  if (err instanceof APIUserAbortError)
    return new CliError('REFUSED', 'the answer was interrupted', { cause: err });
  if (err instanceof APIError) {
    const code = problemCodeOf(err) ?? 'HTTP_ERROR';
    const said = (err.error as { message?: unknown } | undefined)?.message;
    const detail = typeof said === 'string' ? said : err.message;
    const retry = (err.headers as Headers | undefined)?.get('retry-after');
    const where = err.status === undefined ? 'the stream ended' : String(err.status);
    return new CliError(
      code === 'MODEL_UNKNOWN' ? 'MODEL_UNKNOWN' : 'REFUSED',
      `${where} ${code}: ${detail}${retry ? ` (retry after ${retry} s)` : ''}`,
      { cause: err },
    );
  }
  return new CliError('GATEWAY_FAILED', (err as Error).message ?? String(err), { cause: err });
}

/**
 * Whether a failed turn can be followed by another in an interactive chat: limits, a timeout and
 * a request the model cannot take are; a model taken away, an unknown model or a refused caller
 * end the chat.
 */
export function turnCanContinue(err: unknown): boolean {
  if (err instanceof APIConnectionTimeoutError) return true;
  if (!(err instanceof APIError) || err instanceof APIConnectionError) return false;
  const code = problemCodeOf(err);
  return (
    code === 'QUEUE_FULL' ||
    code === 'BUSY' ||
    code === 'TIMEOUT' ||
    code === 'REQUEST_UNSUPPORTED' ||
    code === 'GENERATION_FAILED' ||
    err.status === 400 ||
    err.status === 429
  );
}
