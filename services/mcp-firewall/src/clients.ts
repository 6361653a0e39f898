import type { FastifyReply, FastifyRequest } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '@secai/streams';
import { McpFirewallError } from './errors.js';
import type { Gate } from './gate.js';
import { sessionServer } from './mcpServer.js';
import { Buckets, type BucketLimit } from './rateLimit.js';
import type { Sessions } from './sessions.js';

// The client side of `/mcp`: one SDK streamable-HTTP transport and one `Server` per client session,
// kept in memory while the client uses them. The MCP session id the client gets is the firewall
// session id, and it is also in the `X-Secai-Session` answer header. A transport does not survive
// a restart; the session does: a client that initializes again naming its session (in
// `X-Secai-Session`, or the stale `Mcp-Session-Id` it still holds) resumes it, taint included.
// Only its owner can: to anyone else the id does not exist.

/** The header naming (request) and reporting (answer) the firewall session. */
export const SESSION_HEADER = 'x-secai-session';
const MCP_SESSION_HEADER = 'mcp-session-id';

/** How fast one caller may open sessions (each is an event: a flood of opens is refused early). */
export const OPEN_LIMIT: BucketLimit = { requests_per_minute: 60, burst_size: 20 };

interface Live {
  transport: StreamableHTTPServerTransport;
  server: Server;
  caller: string;
  lastUsed: number;
}

/** A host of the loopback interface (the `Host` header), with or without a port. */
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/i;

function header(request: FastifyRequest, name: string): string | undefined {
  const h = request.headers[name];
  return typeof h === 'string' && h.length > 0 ? h : undefined;
}

/** A JSON-RPC error as the SDK's transport writes its own (status and body). */
function jsonRpcError(
  reply: FastifyReply,
  status: number,
  code: number,
  message: string,
  data?: unknown,
) {
  // Sent as text: the route's response schema documents it and must not reshape it.
  const body = {
    jsonrpc: '2.0',
    error: { code, message, ...(data !== undefined ? { data } : {}) },
    id: null,
  };
  return reply.code(status).type('application/json').send(JSON.stringify(body));
}

export class ClientSessions {
  readonly #live = new Map<string, Live>();
  readonly #opens = new Buckets();
  readonly #now: () => number;

  constructor(
    private readonly deps: {
      gate: Gate;
      sessions: Sessions;
      log: Logger;
      now?: () => number;
    },
  ) {
    this.#now = deps.now ?? Date.now;
  }

  get count(): number {
    return this.#live.size;
  }

  isLive(id: string): boolean {
    return this.#live.has(id);
  }

  /** One request on `/mcp` (POST, GET or DELETE) from an authenticated `caller`. */
  async handle(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: string,
  ): Promise<FastifyReply> {
    // DNS rebinding: a web page that made a loopback name resolve to it is refused by Host and Origin.
    const host = header(request, 'host');
    const origin = header(request, 'origin');
    if (host === undefined || !LOOPBACK_HOST.test(host))
      return jsonRpcError(reply, 403, -32000, 'the Host header must name the loopback interface');
    if (
      origin !== undefined &&
      !/^https?:\/\/(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/i.test(origin)
    )
      return jsonRpcError(reply, 403, -32000, 'requests from a web origin are refused');

    const mcpId = header(request, MCP_SESSION_HEADER);
    const initialize = request.method === 'POST' && isInitializeRequest(request.body);
    const live = mcpId !== undefined ? this.#live.get(mcpId) : undefined;
    if (!initialize) {
      if (mcpId === undefined)
        return jsonRpcError(
          reply,
          400,
          -32000,
          'no session: send initialize first (Mcp-Session-Id missing)',
        );
      if (live === undefined || live.caller !== caller)
        return jsonRpcError(reply, 404, -32001, 'Session not found');
      live.lastUsed = this.#now();
      return this.#relay(live, request, reply);
    }

    let id: string;
    try {
      id = await this.#sessionFor(request, caller, mcpId);
    } catch (err) {
      if (err instanceof McpFirewallError) {
        const status = err.code === 'RATE_LIMITED' ? 429 : err.status;
        if (err.detail.retryAfterSeconds)
          void reply.header('retry-after', String(err.detail.retryAfterSeconds));
        return jsonRpcError(reply, status, -32001, err.message, { code: err.code });
      }
      throw err;
    }
    // The same caller reconnecting: its previous transport (if any) is ended.
    const previous = this.#live.get(id);
    if (previous) await this.#end(id, previous);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      enableJsonResponse: true,
      onsessionclosed: async (closed) => {
        const entry = this.#live.get(closed);
        if (entry) await this.#end(closed, entry);
        await this.deps.sessions.close(closed, caller, 'client');
      },
    });
    const server = sessionServer(this.deps.gate, { session: id, caller }, this.deps.log);
    const entry: Live = { transport, server, caller, lastUsed: this.#now() };
    transport.onclose = () => {
      if (this.#live.get(id) === entry) this.#live.delete(id);
    };
    await server.connect(transport);
    this.#live.set(id, entry);
    return this.#relay(entry, request, reply, id);
  }

  /** The session an initialize opens or resumes. */
  async #sessionFor(
    request: FastifyRequest,
    caller: string,
    staleMcpId: string | undefined,
  ): Promise<string> {
    const named = header(request, SESSION_HEADER) ?? staleMcpId;
    if (named !== undefined) return this.deps.sessions.get(named, caller).id;
    if (this.#opens.take(caller, OPEN_LIMIT, this.#now()) > 0)
      throw new McpFirewallError('RATE_LIMITED', 'too many sessions opened; retry later', {
        retryAfterSeconds: 2,
      });
    const params = (
      request.body as { params?: { clientInfo?: { name?: unknown; version?: unknown } } }
    ).params;
    return (await this.deps.sessions.open(caller, params?.clientInfo ?? {})).id;
  }

  async #relay(
    live: Live,
    request: FastifyRequest,
    reply: FastifyReply,
    newId?: string,
  ): Promise<FastifyReply> {
    if (newId !== undefined) reply.raw.setHeader(SESSION_HEADER, newId);
    else if (live.transport.sessionId)
      reply.raw.setHeader(SESSION_HEADER, live.transport.sessionId);
    void reply.hijack();
    await live.transport.handleRequest(request.raw, reply.raw, request.body);
    return reply;
  }

  async #end(id: string, live: Live): Promise<void> {
    if (this.#live.get(id) === live) this.#live.delete(id);
    await live.server.close().catch(() => undefined);
  }

  /** Tells every connected client to list tools again (an upstream's tools changed). */
  async toolsChanged(): Promise<void> {
    await Promise.all(
      [...this.#live.values()].map((l) => l.server.sendToolListChanged().catch(() => undefined)),
    );
  }

  /** Ends transports unused for `idleMs` (their sessions stay resumable). */
  async sweep(idleMs: number): Promise<number> {
    const cutoff = this.#now() - idleMs;
    const idle = [...this.#live].filter(([, l]) => l.lastUsed < cutoff);
    for (const [id, live] of idle) await this.#end(id, live);
    return idle.length;
  }

  async closeAll(): Promise<void> {
    for (const [id, live] of [...this.#live]) await this.#end(id, live);
  }
}
