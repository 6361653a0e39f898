import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

// `secai mcp stdio`: for an MCP client that launches its servers as local commands (a desktop
// app's config: `"command": "secai", "args": ["mcp", "stdio"]`). The CLI process speaks MCP on
// its stdin/stdout and relays every message, unchanged, to the firewall's `/mcp` over HTTP as the
// operator's `cli` identity (a fresh token on every request: tokens live minutes, a session
// hours). Nothing is decided here: the firewall sees one more HTTP client (caller `service:cli`),
// with its own session, taint and records. `@secai/mcp-firewall/relay`.

export interface RelayOptions {
  /** The firewall's base URL (`http://127.0.0.1:8496`). */
  url: string;
  /** A bearer token for the firewall, made fresh for each request. */
  token: () => string;
  /** Resume this firewall session (`X-Secai-Session`). */
  session?: string;
  stdin?: Readable;
  stdout?: Writable;
  /** The firewall session, once the firewall named it. */
  onSession?: (session: string) => void;
  onError?: (error: Error) => void;
}

export interface Relay {
  /** Resolves when either side closed. */
  closed: Promise<void>;
  close(): Promise<void>;
}

function isInitializeResult(m: JSONRPCMessage): m is JSONRPCMessage & {
  result: { protocolVersion: string };
} {
  const result = (m as { result?: { protocolVersion?: unknown } }).result;
  return typeof result?.protocolVersion === 'string';
}

export async function relayStdio(o: RelayOptions): Promise<Relay> {
  const local = new StdioServerTransport(o.stdin, o.stdout);
  const remote = new StreamableHTTPClientTransport(new URL(`${o.url.replace(/\/+$/, '')}/mcp`), {
    fetch: (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${o.token()}`);
      if (o.session !== undefined) headers.set('x-secai-session', o.session);
      return fetch(url, { ...init, headers, redirect: 'error' });
    },
  });
  let announced = false;
  let done!: () => void;
  const closed = new Promise<void>((resolve) => (done = resolve));
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await remote.close().catch(() => undefined);
    await local.close().catch(() => undefined);
    done();
  };

  local.onmessage = (message) => {
    remote.send(message).catch((err: Error) => {
      o.onError?.(err);
      // A request that could not be delivered is answered, so the local client does not wait.
      const id = (message as { id?: string | number }).id;
      if (id !== undefined && 'method' in message)
        void local.send({
          jsonrpc: '2.0',
          id,
          error: {
            code: -32000,
            message: `the MCP firewall did not take the request: ${err.message}`,
          },
        });
    });
  };
  remote.onmessage = (message) => {
    if (isInitializeResult(message)) remote.setProtocolVersion(message.result.protocolVersion);
    if (!announced && remote.sessionId) {
      announced = true;
      o.onSession?.(remote.sessionId);
    }
    void local.send(message);
  };
  remote.onerror = (err) => o.onError?.(err);
  local.onerror = (err) => o.onError?.(err);
  local.onclose = () => void close();
  remote.onclose = () => void close();
  await remote.start();
  await local.start();
  return { closed, close };
}
