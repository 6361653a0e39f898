import { createServer } from 'node:net';
import OpenAI, { APIUserAbortError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import {
  chatFailure,
  chatSampling,
  endOfTurn,
  jsonView,
  messagesFor,
  parseChatLine,
  pickModel,
  printable,
  renderStream,
  textView,
  turnCanContinue,
} from '../src/commands/chatLines.js';
import { INFERENCE, gatewayUrl } from '../src/commands/gateway.js';
import { createKeyRequest, revokeKeyRequest, statusLines } from '../src/commands/inference.js';

// The pure parts of `secai chat` and `secai inference`: the REPL's lines, the model choice, the
// options held to the service's contract, the messages of a turn, and how a stream (as the
// service frames it: OpenAI SSE, an error frame mid-stream, problem documents) is shown and
// named. The stream tests run the real openai client over a recorded SSE body; the running
// service is driven end to end in inference.e2e.spec.ts.

function usage(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('no error was thrown');
}

describe('a chat line', () => {
  it('is a command when it starts with a slash', () => {
    expect(parseChatLine('/exit')).toEqual({ kind: 'exit' });
    expect(parseChatLine('  /EXIT  ')).toEqual({ kind: 'exit' });
    expect(parseChatLine('/quit')).toEqual({ kind: 'exit' });
    expect(parseChatLine('/reset')).toEqual({ kind: 'reset' });
    expect(parseChatLine('/reset now')).toEqual({ kind: 'reset' });
    expect(parseChatLine('/help')).toEqual({ kind: 'help' });
  });

  it('is never sent to the model when the command is unknown', () => {
    expect(parseChatLine('/exti')).toEqual({ kind: 'unknown', command: '/exti' });
    expect(parseChatLine('/Resett please')).toEqual({ kind: 'unknown', command: '/Resett' });
  });

  it('is a prompt otherwise, kept as typed; // sends a line that starts with a slash', () => {
    expect(parseChatLine('hello there ')).toEqual({ kind: 'prompt', text: 'hello there ' });
    expect(parseChatLine('what is /etc/passwd?')).toEqual({
      kind: 'prompt',
      text: 'what is /etc/passwd?',
    });
    expect(parseChatLine('//etc is a directory')).toEqual({
      kind: 'prompt',
      text: '/etc is a directory',
    });
    expect(parseChatLine('hello\r')).toEqual({ kind: 'prompt', text: 'hello' });
  });

  it('is nothing when blank', () => {
    expect(parseChatLine('')).toEqual({ kind: 'empty' });
    expect(parseChatLine('   \t')).toEqual({ kind: 'empty' });
  });
});

describe('the model of a chat', () => {
  it('is the one named, else the only one served', () => {
    expect(pickModel([{ id: 'a' }, { id: 'b' }], 'b')).toBe('b');
    // Named but not listed: the service resolves names and digests, and says if it is unknown.
    expect(pickModel([{ id: 'a' }], 'sha256:00')).toBe('sha256:00');
    expect(pickModel([{ id: 'tiny' }])).toBe('tiny');
  });

  it('is an error that lists them when several are served and none is named', () => {
    const e = usage(() => pickModel([{ id: 'alpha' }, { id: 'beta@0123456789ab' }]));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('2 models are served');
    expect(e.message).toContain('alpha, beta@0123456789ab');
  });

  it('is an error that says how to add one when none is served', () => {
    const e = usage(() => pickModel([]));
    expect(e.code).toBe('MODEL_UNKNOWN');
    expect(e.message).toContain('secai model import');
  });
});

describe('the chat options', () => {
  it('become the request sampling when within the contract', () => {
    expect(chatSampling('tiny', { maxTokens: 64, temperature: 0 })).toEqual({
      max_tokens: 64,
      temperature: 0,
    });
    expect(chatSampling(undefined, { system: 'be brief' })).toEqual({});
  });

  it('are refused by the option typed and the bound broken, before anything is sent', () => {
    const e = usage(() => chatSampling('tiny', { maxTokens: 0, temperature: 2.5 }));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('--max-tokens: must be >= 1');
    expect(e.message).toContain('--temperature: must be <= 2');
    // The nullable branch of an optional field says nothing about the value typed.
    expect(e.message).not.toContain('must be null');
    expect(usage(() => chatSampling('tiny', { maxTokens: 1.5 })).message).toContain(
      '--max-tokens: must be integer',
    );
    expect(usage(() => chatSampling('x'.repeat(601), {})).message).toContain('MODEL:');
    expect(usage(() => chatSampling('tiny', { system: '  ' })).message).toContain('--system');
  });
});

describe('the messages of a turn', () => {
  it('carry the system prompt, the conversation so far in order, then the new line', () => {
    expect(
      messagesFor(
        'be brief',
        [
          { prompt: 'one', answer: 'first' },
          { prompt: 'two', answer: 'second' },
        ],
        'three',
      ),
    ).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'first' },
      { role: 'user', content: 'two' },
      { role: 'assistant', content: 'second' },
      { role: 'user', content: 'three' },
    ]);
    expect(messagesFor(undefined, [], 'hi')).toEqual([{ role: 'user', content: 'hi' }]);
  });
});

describe("a model's text on a terminal", () => {
  it('shows control characters as symbols and keeps newlines, tabs and other text', () => {
    expect(printable('\u001b]0;owned\u0007\u001b[2J')).toBe('␛]0;owned␇␛[2J');
    expect(printable('over\rwrite')).toBe('over␍write');
    expect(printable('a\u007fb\u009bc')).toBe('a␡b\ufffdc');
    expect(printable('line\n\tnext — ünï 🙂')).toBe('line\n\tnext — ünï 🙂');
  });
});

// ---- Streams as the inference service frames them (services/inference src/openai.ts) ----

const frame = (choice: Record<string, unknown>) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'tiny',
    system_fingerprint: 'secai-inference',
    choices: [{ index: 0, logprobs: null, ...choice }],
  })}\n\n`;

const START = frame({ delta: { role: 'assistant', content: '' }, finish_reason: null });
const text = (t: string) => frame({ delta: { content: t }, finish_reason: null });
const finish = (reason: string) => frame({ delta: {}, finish_reason: reason });
const DONE = 'data: [DONE]\n\n';

/** The real openai client, reading this body as the service's answer. */
function clientAnswering(status: number, body: string, headers: Record<string, string>) {
  return new OpenAI({
    apiKey: 'unused',
    baseURL: 'http://inference.test/v1',
    maxRetries: 0,
    fetch: () => Promise.resolve(new Response(body, { status, headers })),
  });
}

const sse = (body: string) =>
  clientAnswering(200, body, { 'content-type': 'text/event-stream; charset=utf-8' });

async function stream(client: OpenAI) {
  return client.chat.completions.create({
    model: 'tiny',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  });
}

function recorder() {
  const written: string[] = [];
  const notices: string[] = [];
  return {
    written,
    notices,
    view: textView(
      (t) => written.push(t),
      (l) => notices.push(l),
    ),
  };
}

describe('a streamed answer', () => {
  it('is shown chunk by chunk as it arrives, and what was said is returned', async () => {
    const r = recorder();
    const result = await renderStream(
      await stream(sse(START + text('Hel') + text('lo') + text(' there') + finish('stop') + DONE)),
      r.view,
    );
    expect(result).toEqual({ text: 'Hello there', finishReason: 'stop', chunks: 3 });
    expect(r.written).toEqual(['Hel', 'lo', ' there']);
    r.view.answered(result);
    expect(r.written.join('')).toBe('Hello there\n');
    expect(r.notices).toEqual([]);
  });

  it('says when it was cut at --max-tokens', async () => {
    const r = recorder();
    const result = await renderStream(
      await stream(sse(START + text('a') + finish('length') + DONE)),
      r.view,
    );
    r.view.answered(result);
    expect(r.notices).toEqual(['(the answer was cut at --max-tokens)']);
  });

  it('ends with the refusal when the service ends it with an error frame (a contained model)', async () => {
    const r = recorder();
    const failing = `${START}${text('Hel')}data: ${JSON.stringify({
      error: {
        message: 'tiny was contained: tampered',
        type: 'model_contained',
        code: 'MODEL_CONTAINED',
        param: null,
        status: 409,
      },
    })}\n\n${DONE}`;
    const err = await renderStream(await stream(sse(failing)), r.view).then(
      () => null,
      (e: unknown) => e,
    );
    expect(r.written).toEqual(['Hel']);
    const failure = chatFailure(err, 'http://127.0.0.1:8465');
    expect(failure.code).toBe('REFUSED');
    expect(failure.message).toBe('the stream ended MODEL_CONTAINED: tiny was contained: tampered');
    expect(turnCanContinue(err)).toBe(false);
  });

  it('is not an answer when it ends without a finish reason (cut) or was interrupted', async () => {
    const r = recorder();
    const cut = await renderStream(await stream(sse(START + text('Hel'))), r.view);
    expect(cut).toEqual({ text: 'Hel', finishReason: null, chunks: 1 });
    const e = usage(() => endOfTurn(cut, false));
    expect(e.code).toBe('GATEWAY_FAILED');
    expect(e.message).toContain('ended before the model finished');
    // The openai client ends an aborted stream quietly, as if it were complete.
    const whole = { text: 'Hello', finishReason: 'stop', chunks: 2 };
    expect(() => endOfTurn(whole, true)).toThrow(APIUserAbortError);
    expect(endOfTurn(whole, false)).toBe(whole);
  });

  it('is shown to a program as one JSON object a line', async () => {
    const lines: string[] = [];
    const view = jsonView((l) => lines.push(l));
    view.session('sess_1', 'tiny');
    view.answered(
      await renderStream(await stream(sse(START + text('Hi') + finish('stop') + DONE)), view),
    );
    view.closed('sess_1');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { event: 'session', id: 'sess_1', model: 'tiny' },
      { event: 'delta', text: 'Hi' },
      { event: 'answer', finishReason: 'stop', chunks: 1, length: 2 },
      { event: 'closed', id: 'sess_1' },
    ]);
  });
});

const problem = (status: number, code: string, detail: string) =>
  JSON.stringify({
    type: `urn:secai:problem:${code}`,
    title: code,
    status,
    code,
    detail,
    error: { message: detail, type: code.toLowerCase(), code, param: null },
  });

describe('a refused turn', () => {
  it('over a limit says when to retry, and an interactive chat goes on', async () => {
    const client = clientAnswering(429, problem(429, 'QUEUE_FULL', '2 requests wait'), {
      'content-type': 'application/problem+json',
      'retry-after': '1',
    });
    const err = await stream(client).then(
      () => null,
      (e: unknown) => e,
    );
    const failure = chatFailure(err, 'http://127.0.0.1:8465');
    expect(failure.code).toBe('REFUSED');
    expect(failure.message).toBe('429 QUEUE_FULL: 2 requests wait (retry after 1 s)');
    expect(turnCanContinue(err)).toBe(true);
  });

  it('for an unknown model has the CLI code for it, and ends the chat', async () => {
    const client = clientAnswering(404, problem(404, 'MODEL_UNKNOWN', 'no model nope'), {
      'content-type': 'application/problem+json',
    });
    const err = await stream(client).then(
      () => null,
      (e: unknown) => e,
    );
    const failure = chatFailure(err, 'http://127.0.0.1:8465');
    expect(failure.code).toBe('MODEL_UNKNOWN');
    expect(failure.message).toContain('no model nope');
    expect(turnCanContinue(err)).toBe(false);
  });
});

describe('an inference service that is not there', () => {
  it('is NOT_RUNNING, naming the address and the variable that names another', async () => {
    // A port that was just free: nothing listens there any more.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const closedPort = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const url = `http://127.0.0.1:${closedPort}`;
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${url}/v1`, maxRetries: 0 });
    const err = await client.models.list().then(
      () => null,
      (e: unknown) => e,
    );
    const failure = chatFailure(err, url);
    expect(failure.code).toBe('NOT_RUNNING');
    expect(failure.message).toContain(url);
    expect(failure.message).toContain('SECAI_INFERENCE_URL');
    expect(turnCanContinue(err)).toBe(false);
  });
});

describe('the inference gateway address', () => {
  const saved = process.env.SECAI_INFERENCE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.SECAI_INFERENCE_URL;
    else process.env.SECAI_INFERENCE_URL = saved;
  });

  it('is --url, else the variable, else the booted port, else the documented one', () => {
    delete process.env.SECAI_INFERENCE_URL;
    expect(gatewayUrl(INFERENCE)).toBe('http://127.0.0.1:8465');
    expect(gatewayUrl(INFERENCE, undefined, 28465)).toBe('http://127.0.0.1:28465');
    process.env.SECAI_INFERENCE_URL = 'http://10.0.0.2:8465/';
    expect(gatewayUrl(INFERENCE, undefined, 28465)).toBe('http://10.0.0.2:8465');
    expect(gatewayUrl(INFERENCE, 'http://127.0.0.1:9000', 28465)).toBe('http://127.0.0.1:9000');
  });

  it('is refused when it is not a plain http(s) URL', () => {
    expect(usage(() => gatewayUrl(INFERENCE, 'ftp://x')).message).toContain('not an http(s) URL');
    expect(usage(() => gatewayUrl(INFERENCE, 'http://u:p@127.0.0.1:1')).message).toContain(
      'no credentials',
    );
    expect(usage(() => gatewayUrl(INFERENCE, 'nope')).message).toContain('not a URL');
  });
});

describe('an API key request', () => {
  it('is held to the contract by the option typed', () => {
    expect(createKeyRequest('laptop', 'ada')).toEqual({ name: 'laptop', createdBy: 'ada' });
    expect(usage(() => createKeyRequest('my laptop', 'ada')).message).toContain('--name');
    expect(usage(() => createKeyRequest('x'.repeat(65), 'ada')).message).toContain('--name');
    expect(usage(() => createKeyRequest('laptop', 'ada\u001b[2J')).message).toContain('--operator');
    expect(revokeKeyRequest('laptop', 'ada', 'lost')).toEqual({ revokedBy: 'ada', reason: 'lost' });
    expect(usage(() => revokeKeyRequest('../keys', 'ada')).message).toContain('NAME');
    expect(usage(() => revokeKeyRequest('laptop', 'ada', 'r'.repeat(257))).message).toContain(
      '--reason',
    );
  });
});

describe('the inference status', () => {
  it('names the backend, each model and whether it is loaded, sessions and memory', () => {
    const lines = statusLines({
      backend: 'cpu',
      threads: 2,
      policyDigest: 'sha256:ab',
      models: [
        {
          id: 'tiny',
          digest: `sha256:${'c'.repeat(64)}`,
          loaded: true,
          contextSize: 2048,
          inFlight: 1,
        },
        {
          id: 'other',
          digest: `sha256:${'d'.repeat(64)}`,
          loaded: false,
          contextSize: null,
          inFlight: 0,
        },
      ],
      sessions: 3,
      running: 1,
      queued: 0,
      memory: { rssBytes: 200 * 1024 * 1024, heapUsedBytes: 50 * 1024 * 1024 },
    }).join('\n');
    expect(lines).toContain('backend cpu, 2 threads, policy sha256:ab');
    expect(lines).toContain('models: 2 servable, 1 loaded');
    expect(lines).toMatch(/tiny\s+yes\s+2048\s+1\s+sha256:cccccccccccccccc\n/);
    expect(lines).toMatch(/other\s+no\s+-\s+0\s+sha256:dddddddddddddddd/);
    expect(lines).toContain('sessions 3, requests running 1, queued 0');
    expect(lines).toContain('memory: rss 200.0 MiB, heap used 50.0 MiB');
  });
});
