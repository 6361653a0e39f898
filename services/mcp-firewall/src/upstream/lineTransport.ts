import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { deserializeMessage, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { OUTPUT_TOO_LARGE_CODE, tooLargeError } from './tooLarge.js';

// An MCP transport over a child's stdin/stdout (the SDK's stdio framing: one JSON-RPC message per
// line, `serializeMessage`/`deserializeMessage`), for servers that run in the sandbox. Unlike the
// SDK's `ReadBuffer`, which keeps a line until it ends (10 MiB by default, then throws), a line is
// bounded while it is read: past `maxMessageBytes` its bytes are dropped as they arrive, and when
// it ends the request it answered gets an `OUTPUT_TOO_LARGE` error instead. The id is read from
// the line's first and last bytes (the SDK writes it last); a line whose id cannot be found
// closes the connection, which fails every request in flight on it: never unbounded, never hung.

/** Bytes kept of each end of an oversized line, to find its id. */
const EDGE = 256;

export interface LineTransportOptions {
  stdin: Writable;
  stdout: Readable;
  maxMessageBytes: number;
  /** Ends the process (called once, by close()). */
  kill: () => Promise<void>;
  /** Resolves when the process has exited (the transport then closes). */
  exited: Promise<unknown>;
}

const ID_AT_END = /"id"\s*:\s*(-?\d{1,15}|"[^"\\]{1,128}")\s*\}\s*$/;
const ID_AT_START =
  /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d{1,15}|"[^"\\]{1,128}")/;

/** The id an oversized response answers, from its edges, or undefined. */
export function idOfOversized(head: string, tail: string): number | string | undefined {
  const m = ID_AT_END.exec(tail) ?? ID_AT_START.exec(head);
  if (!m) return undefined;
  const raw = m[1]!;
  return raw.startsWith('"') ? raw.slice(1, -1) : Number(raw);
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  #chunks: Buffer[] = [];
  #lineBytes = 0;
  #oversized: { head: Buffer; tail: Buffer } | null = null;
  #closed = false;
  /** Bytes read from the upstream for the messages delivered so far (for the outputs' counts). */
  bytesRead = 0;

  constructor(private readonly o: LineTransportOptions) {}

  start(): Promise<void> {
    this.o.stdout.on('data', (chunk: Buffer) => this.#read(chunk));
    this.o.stdout.on('error', (err: Error) => this.onerror?.(err));
    void this.o.exited.then(() => this.#finish());
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the upstream connection is closed'));
    return new Promise((resolve, reject) => {
      const ok = this.o.stdin.write(serializeMessage(message), (err) =>
        err ? reject(err) : undefined,
      );
      if (ok) resolve();
      else this.o.stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.o.kill();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chunks = [];
    this.onclose?.();
  }

  #read(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      this.#take(chunk.subarray(start, end));
      if (nl === -1) return;
      this.#endLine();
      start = nl + 1;
    }
  }

  /** Adds bytes of the current line, switching to "oversized" (edges only) past the bound. */
  #take(part: Buffer): void {
    if (part.length === 0) return;
    this.#lineBytes += part.length;
    if (this.#oversized) {
      const tail = Buffer.concat([this.#oversized.tail, part]);
      this.#oversized.tail = tail.subarray(Math.max(0, tail.length - EDGE));
      return;
    }
    this.#chunks.push(part);
    if (this.#lineBytes <= this.o.maxMessageBytes) return;
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#oversized = {
      head: all.subarray(0, EDGE),
      tail: Buffer.from(all.subarray(Math.max(0, all.length - EDGE))),
    };
  }

  #endLine(): void {
    const bytes = this.#lineBytes;
    this.#lineBytes = 0;
    this.bytesRead += bytes + 1;
    const oversized = this.#oversized;
    this.#oversized = null;
    if (oversized) {
      const id = idOfOversized(oversized.head.toString('utf8'), oversized.tail.toString('utf8'));
      if (id === undefined) {
        this.onerror?.(
          new Error(
            `an upstream message of more than ${this.o.maxMessageBytes} bytes with no readable id`,
          ),
        );
        void this.close();
        return;
      }
      this.onmessage?.(tooLargeError(id, bytes, this.o.maxMessageBytes));
      return;
    }
    const line = Buffer.concat(this.#chunks).toString('utf8').replace(/\r$/, '');
    this.#chunks = [];
    if (line.trim() === '') return;
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line);
    } catch (err) {
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.onmessage?.(message);
  }
}

export { OUTPUT_TOO_LARGE_CODE };
