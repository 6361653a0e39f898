import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { boundedFetch, boundedSse, requestIdsOf } from '../src/upstream/boundedFetch.js';
import { isLoopbackHttp } from '../src/upstream/connect.js';
import { idOfOversized, LineTransport } from '../src/upstream/lineTransport.js';
import { OUTPUT_TOO_LARGE_CODE } from '../src/upstream/tooLarge.js';
import { pino } from 'pino';
import { backoffMs, Upstreams } from '../src/upstream/upstreams.js';

// The upstream transports bound what they read while they read it: an answer past the bound
// becomes an OUTPUT_TOO_LARGE error for the request it answered, never a buffer of it.

function lineTransport(max: number) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let killed = 0;
  let exit!: () => void;
  const exited = new Promise<void>((r) => (exit = r));
  const t = new LineTransport({
    stdin,
    stdout,
    maxMessageBytes: max,
    kill: () => {
      killed++;
      exit();
      return Promise.resolve();
    },
    exited,
  });
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  let closed = 0;
  t.onmessage = (m) => messages.push(m);
  t.onerror = (e) => errors.push(e);
  t.onclose = () => closed++;
  return { t, stdin, stdout, messages, errors, killed: () => killed, closed: () => closed };
}

describe('the line transport over a sandboxed server’s stdio', () => {
  it('given lines split across chunks, then each message arrives once, whole', async () => {
    const x = lineTransport(1024);
    await x.t.start();
    x.stdout.write('{"jsonrpc":"2.0","id":1,"res');
    x.stdout.write('ult":{}}\n{"jsonrpc":"2.0","id":2,"result":{}}\n');
    await new Promise((r) => setImmediate(r));
    expect(x.messages.map((m) => (m as { id: number }).id)).toEqual([1, 2]);
  });

  it('given an answer past the bound, then its bytes are dropped and its request gets OUTPUT_TOO_LARGE', async () => {
    const x = lineTransport(1024);
    await x.t.start();
    const big = `{"result":{"content":[{"type":"text","text":"${'x'.repeat(100_000)}"}]},"jsonrpc":"2.0","id":7}\n`;
    for (let i = 0; i < big.length; i += 4096) x.stdout.write(big.slice(i, i + 4096));
    x.stdout.write('{"jsonrpc":"2.0","id":8,"result":{}}\n');
    await new Promise((r) => setImmediate(r));
    expect(x.messages).toEqual([
      expect.objectContaining({
        id: 7,
        error: expect.objectContaining({ code: OUTPUT_TOO_LARGE_CODE }) as unknown,
      }),
      { jsonrpc: '2.0', id: 8, result: {} },
    ]);
    expect(x.killed()).toBe(0);
  });

  it('given an oversized line whose id cannot be read, then the connection is closed (every request fails, none hangs)', async () => {
    const x = lineTransport(1024);
    await x.t.start();
    x.stdout.write(`${'z'.repeat(5000)}\n`);
    await new Promise((r) => setImmediate(r));
    expect(x.messages).toEqual([]);
    expect(x.killed()).toBe(1);
    expect(x.closed()).toBe(1);
  });

  it('given a line that is not JSON-RPC, then it is reported and skipped', async () => {
    const x = lineTransport(1024);
    await x.t.start();
    x.stdout.write('not json\n{"jsonrpc":"2.0","id":3,"result":{}}\n');
    await new Promise((r) => setImmediate(r));
    expect(x.errors).toHaveLength(1);
    expect(x.messages).toHaveLength(1);
  });

  it('reads the id of an oversized answer from either end', () => {
    expect(idOfOversized('{"result":{', ',"jsonrpc":"2.0","id":42}')).toBe(42);
    expect(idOfOversized('{"jsonrpc":"2.0","id":"a-1","result":', 'xxxx"}')).toBe('a-1');
    expect(idOfOversized('{"result":', 'xxxx')).toBeUndefined();
  });
});

describe('the bounded fetch of an HTTP upstream', () => {
  let url = '';
  let body = '';
  let type = 'application/json';
  const server = createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const post = (f: ReturnType<typeof boundedFetch>, path = '/mcp') =>
    f(`${url}${path}`, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call' }),
    });

  it('given a JSON answer within the bound, then it passes as it is', async () => {
    type = 'application/json';
    body = '{"jsonrpc":"2.0","id":5,"result":{}}';
    const res = await post(boundedFetch(url, 1024));
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: 5, result: {} });
  });

  it('given a JSON answer past the bound, then the request gets OUTPUT_TOO_LARGE instead', async () => {
    type = 'application/json';
    body = JSON.stringify({ jsonrpc: '2.0', id: 5, result: { text: 'x'.repeat(10_000) } });
    let seen = 0;
    const res = await post(boundedFetch(url, 1024, (b) => (seen = b)));
    expect(await res.json()).toMatchObject({ id: 5, error: { code: OUTPUT_TOO_LARGE_CODE } });
    expect(seen).toBeGreaterThan(1024);
  });

  it('given an SSE event past the bound, then it is discarded and the error follows', async () => {
    type = 'text/event-stream';
    body = `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\nevent: message\ndata: ${'y'.repeat(5000)}\n\n`;
    const res = await post(boundedFetch(url, 1024));
    const text = await res.text();
    expect(text).toContain('notifications/progress');
    expect(text).not.toContain('y'.repeat(1100));
    expect(text).toContain('event: secai-discarded');
    expect(text).toContain(`"code":${OUTPUT_TOO_LARGE_CODE}`);
  });

  it('refuses a request to another origin and never follows a redirect', async () => {
    await expect(post(boundedFetch('http://127.0.0.1:1', 1024))).rejects.toThrow(
      /not the upstream/,
    );
    await expect(post(boundedFetch(url, 1024), '/redirect')).rejects.toThrow();
  });

  it('names the ids of a request or a batch', () => {
    expect(
      requestIdsOf('[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"}]'),
    ).toEqual([1]);
    expect(requestIdsOf('nope')).toEqual([]);
  });

  it('bounds each SSE event, not the stream', async () => {
    const chunks = [
      'event: message\ndata: ',
      'a'.repeat(600),
      '\n\n',
      'event: message\ndata: ',
      'b'.repeat(600),
      '\n\n',
    ];
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
        c.close();
      },
    });
    const out = await new Response(boundedSse(source, 1024, [1], () => undefined)).text();
    expect(out).toBe(chunks.join(''));
  });
});

describe('upstream addresses and retries', () => {
  it('accepts http on loopback only', () => {
    expect(isLoopbackHttp('http://127.0.0.1:9100/mcp')).toBe(true);
    expect(isLoopbackHttp('http://localhost:9100/mcp')).toBe(true);
    expect(isLoopbackHttp('http://[::1]:9100/mcp')).toBe(true);
    expect(isLoopbackHttp('https://127.0.0.1/mcp')).toBe(false);
    expect(isLoopbackHttp('http://10.0.0.1/mcp')).toBe(false);
    expect(isLoopbackHttp('http://user:pw@127.0.0.1/mcp')).toBe(false);
    expect(isLoopbackHttp('http://127.0.0.1.evil.example/mcp')).toBe(false);
  });

  it('backs off 1 s, 2 s, 4 s ... at most a minute after failures in a row', () => {
    expect([1, 2, 3, 7, 20].map(backoffMs)).toEqual([1000, 2000, 4000, 60_000, 60_000]);
  });
});

describe('an upstream that cannot be started', () => {
  it('is recorded as failed once, and not started again before the back-off ends', async () => {
    let now = 0;
    const recorded: { type: string; data: { reason: string } }[] = [];
    const upstreams = new Upstreams({
      maxMessageBytes: 1024,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      record: (d) => {
        recorded.push(d as never);
        return Promise.resolve();
      },
      log: pino({ level: 'silent' }),
      now: () => now,
    });
    const server = {
      name: 'gone',
      trust_level: 'trusted' as const,
      command: ['/nonexistent/mcp-server'],
    };
    await expect(upstreams.connection(server)).rejects.toMatchObject({ reason: 'spawn_failed' });
    await expect(upstreams.connection(server)).rejects.toThrow(/back-off/);
    expect(recorded.map((r) => [r.type, r.data.reason])).toEqual([
      ['mcp.server.failed', 'spawn_failed'],
    ]);
    now = 1500;
    await expect(upstreams.connection(server)).rejects.toMatchObject({ reason: 'spawn_failed' });
    expect(recorded).toHaveLength(2);
    await upstreams.closeAll();
  });

  it('refuses an HTTP upstream off loopback before any request', async () => {
    const upstreams = new Upstreams({
      maxMessageBytes: 1024,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      record: () => Promise.resolve(),
      log: pino({ level: 'silent' }),
    });
    await expect(
      upstreams.connection({ name: 'far', trust_level: 'untrusted', url: 'http://192.0.2.1/mcp' }),
    ).rejects.toMatchObject({ reason: 'not_loopback' });
  });
});
