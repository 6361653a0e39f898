import { createInterface } from 'node:readline';
import OpenAI, { APIUserAbortError } from 'openai';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import {
  CHAT_HELP,
  chatFailure,
  endOfTurn,
  messagesFor,
  parseChatLine,
  pickModel,
  problemCodeOf,
  renderStream,
  turnCanContinue,
  type ChatView,
  type Exchange,
  type Sampling,
} from './chatLines.js';
import { INFERENCE, callGateway, gatewayUrlOf, tokenFor } from './gateway.js';

// `secai chat [MODEL]`: a conversation with a trusted model through the inference service's
// OpenAI-compatible API, as the cli identity. It opens a session (POST /api/v1/sessions) so the
// service keeps the conversation's context sequence between turns, sends each turn with the
// whole conversation (OpenAI's shape) and the session header, and prints the answer as it
// streams. Prompts are never logged or echoed; only the answers are printed.

export interface ChatOptions {
  model?: string;
  sampling: Sampling;
  system?: string;
  url?: string;
}

export interface ChatIo {
  /** The lines typed or piped in. */
  input: NodeJS.ReadableStream;
  /** A person at a terminal: prompts, a banner, Ctrl-C interrupts an answer. */
  interactive: boolean;
  view: ChatView;
  /** Where the interactive prompt is drawn. */
  output: NodeJS.WritableStream;
}

/** The header that binds a request to a session (services/inference http.ts SESSION_HEADER). */
const SESSION_HEADER = 'x-secai-session';

interface OpenSession {
  id: string;
  modelId: string;
}

async function openSession(
  ctx: CliContext,
  url: string,
  model: string,
  served: readonly { id: string }[],
): Promise<OpenSession> {
  try {
    const res = await callGateway(ctx, INFERENCE, url, '/api/v1/sessions', {
      method: 'POST',
      body: { model },
    });
    return (await res.json()) as OpenSession;
  } catch (err) {
    // A model the service does not know gets the CLI's own code, like `secai model show`.
    if (err instanceof CliError && /^404 MODEL_UNKNOWN/.test(err.message))
      throw new CliError(
        'MODEL_UNKNOWN',
        `${err.message.replace(/^404 MODEL_UNKNOWN: /, '')}; ${servedList(served)}`,
      );
    throw err;
  }
}

function servedList(served: readonly { id: string }[]): string {
  return served.length === 0
    ? 'it serves no model (secai model import adds one)'
    : `it serves ${served.map((m) => m.id).join(', ')}`;
}

async function closeSession(ctx: CliContext, url: string, id: string): Promise<void> {
  try {
    await callGateway(ctx, INFERENCE, url, `/api/v1/sessions/${encodeURIComponent(id)}`, {
      method: 'DELETE',
    });
  } catch (err) {
    // Already closed by the service (idle, or its model unloaded): nothing left to close.
    if (err instanceof CliError && /^404 SESSION_UNKNOWN/.test(err.message)) return;
    throw err;
  }
}

export async function chat(ctx: CliContext, opts: ChatOptions, io: ChatIo): Promise<void> {
  const url = gatewayUrlOf(ctx, INFERENCE, opts.url);
  const client = new OpenAI({
    baseURL: `${url}/v1`,
    // A fresh token for each request: a conversation outlives one token's five minutes.
    apiKey: () => Promise.resolve(tokenFor(ctx, INFERENCE)),
    organization: null,
    project: null,
    // Limits are answered with Retry-After; the person (or script) decides, not a silent retry.
    maxRetries: 0,
  });
  let served: { id: string }[];
  try {
    served = (await client.models.list()).data;
  } catch (err) {
    throw chatFailure(err, url);
  }
  const model = pickModel(served, opts.model);

  let session = await openSession(ctx, url, model, served);
  io.view.session(session.id, session.modelId);
  const history: Exchange[] = [];
  const view = io.view;

  /** One turn, streamed; a session the service closed meanwhile is opened again once. */
  const turn = async (prompt: string, signal: AbortSignal) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const stream = await client.chat.completions.create(
          {
            model: session.modelId,
            messages: messagesFor(opts.system, history, prompt),
            stream: true,
            ...opts.sampling,
          },
          { headers: { [SESSION_HEADER]: session.id }, signal },
        );
        return endOfTurn(await renderStream(stream, view), signal.aborted);
      } catch (err) {
        if (attempt > 0 || problemCodeOf(err) !== 'SESSION_UNKNOWN') throw err;
        // Closed by the service (idle): the conversation is ours, so a new session carries it.
        session = await openSession(ctx, url, session.modelId, served);
        view.notice(`the service had closed the session; continuing in ${session.id}`);
        view.session(session.id, session.modelId);
      }
    }
  };

  const rl = createInterface({
    input: io.input,
    ...(io.interactive ? { output: io.output, terminal: true } : { terminal: false }),
  });
  let answering: AbortController | null = null;
  // Ctrl-C interrupts an answer on a terminal; at the prompt, or when piped, it ends the chat
  // (the session is closed on the way out).
  const onInterrupt = () => {
    const during = answering;
    during?.abort();
    if (!during || !io.interactive) rl.close();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  if (io.interactive) {
    view.notice(`chat with ${session.modelId} (session ${session.id}); ${CHAT_HELP}`);
    rl.setPrompt('> ');
    rl.prompt();
  }

  let failure: Error | null = null;
  try {
    for await (const line of rl) {
      const input = parseChatLine(line);
      if (input.kind === 'exit') break;
      if (input.kind === 'help') view.notice(CHAT_HELP);
      if (input.kind === 'unknown') view.notice(`no command ${input.command}; ${CHAT_HELP}`);
      if (input.kind === 'reset') {
        await closeSession(ctx, url, session.id);
        view.closed(session.id);
        history.length = 0;
        session = await openSession(ctx, url, session.modelId, served);
        view.session(session.id, session.modelId);
        view.notice(`new session ${session.id}: the conversation starts over`);
      }
      if (input.kind === 'prompt') {
        const controller = new AbortController();
        answering = controller;
        try {
          const result = await turn(input.text, controller.signal);
          view.answered(result);
          history.push({ prompt: input.text, answer: result.text });
        } catch (err) {
          if (err instanceof APIUserAbortError || controller.signal.aborted) {
            // Not kept: the model never said it in full, so the next turn does not carry it.
            view.notice('\n(answer interrupted)');
          } else {
            const refused = chatFailure(err, url);
            if (!io.interactive || !turnCanContinue(err)) throw refused;
            view.failed(refused);
          }
        } finally {
          answering = null;
        }
      }
      if (io.interactive) rl.prompt();
    }
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
  }
  rl.off('SIGINT', onInterrupt);
  process.off('SIGINT', onInterrupt);
  rl.close();
  try {
    await closeSession(ctx, url, session.id);
    view.closed(session.id);
  } catch (err) {
    // The failure that ended the chat is the one to report; the service closes idle sessions.
    if (failure === null) throw err;
    view.notice(`session ${session.id} was not closed: ${(err as Error).message}`);
  }
  if (failure !== null) throw failure;
}
