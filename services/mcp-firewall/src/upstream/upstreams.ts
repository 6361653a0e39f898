import { canonicalJson, type McpServerPolicyData } from '@secai/contracts';
import { ResultSchema, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '@secai/streams';
import { serverAggregateId, type DraftOf } from '../drafts.js';
import { label } from '../text.js';
import { connectUpstream, UpstreamError, type UpstreamConnection } from './connect.js';

// The upstream servers: connected on first use, one connection per server shared by every
// session, reconnected when policy changes how the server is reached, and after a failure only
// once a back-off has passed (a crashing server is not relaunched at every call). Each connection
// and failure is recorded on `mcp-server/<server>`.

export interface UpstreamsOptions {
  maxMessageBytes: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  record: (draft: DraftOf<'mcp.server.connected'> | DraftOf<'mcp.server.failed'>) => Promise<void>;
  /** An upstream said its tools changed. */
  onToolsChanged?: (server: string) => void;
  log: Logger;
  now?: () => number;
}

interface Slot {
  key: string;
  conn: UpstreamConnection | null;
  connecting: Promise<UpstreamConnection> | null;
  failures: number;
  retryAt: number;
  lastProblem: string;
}

/** Back-off after the n-th failure in a row: 1 s, 2 s, 4 s ... at most 60 s. */
export function backoffMs(failures: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, failures - 1));
}

/** Most tools (resources, prompts) read from one upstream listing, over at most this many pages. */
export const MAX_LISTED = 1000;
export const MAX_PAGES = 20;

export class Upstreams {
  readonly #slots = new Map<string, Slot>();
  readonly #now: () => number;

  constructor(private readonly o: UpstreamsOptions) {
    this.#now = o.now ?? Date.now;
  }

  /** The live connection to `server` (connecting now if needed); throws `UpstreamError`. */
  async connection(server: McpServerPolicyData): Promise<UpstreamConnection> {
    const key = canonicalJson({ command: server.command ?? null, url: server.url ?? null });
    let slot = this.#slots.get(server.name);
    if (slot && slot.key !== key) {
      // Policy changed how the server is reached: the old one is ended.
      void slot.conn?.close();
      slot = undefined;
    }
    if (!slot) {
      slot = { key, conn: null, connecting: null, failures: 0, retryAt: 0, lastProblem: '' };
      this.#slots.set(server.name, slot);
    }
    if (slot.conn) return slot.conn;
    if (slot.connecting) return slot.connecting;
    if (this.#now() < slot.retryAt)
      throw new UpstreamError(
        'connect_failed',
        `not retried before the back-off ends: ${slot.lastProblem}`,
      );
    const s = slot;
    s.connecting = this.#connect(server, s).finally(() => {
      s.connecting = null;
    });
    return s.connecting;
  }

  async #connect(server: McpServerPolicyData, slot: Slot): Promise<UpstreamConnection> {
    const transport = server.command !== undefined ? 'stdio' : 'http';
    const aggregateId = serverAggregateId(server.name);
    try {
      const conn = await connectUpstream(server, {
        maxMessageBytes: this.o.maxMessageBytes,
        connectTimeoutMs: this.o.connectTimeoutMs,
        onToolsChanged: () => this.o.onToolsChanged?.(server.name),
        onClosed: () => {
          if (slot.conn === conn) slot.conn = null;
          this.o.log.warn({ server: server.name }, 'upstream connection closed');
        },
      });
      slot.conn = conn;
      slot.failures = 0;
      const info = conn.client.getServerVersion();
      for (const note of conn.notes)
        this.o.log.warn({ server: server.name, note }, 'upstream sandbox');
      await this.o.record({
        type: 'mcp.server.connected',
        aggregateId,
        data: {
          server: server.name,
          transport: conn.transport,
          sandbox: conn.sandbox,
          serverInfo: {
            name: label(info?.name ?? '', 128),
            version: label(info?.version ?? '', 64),
          },
        },
      });
      return conn;
    } catch (err) {
      const reason = err instanceof UpstreamError ? err.reason : 'connect_failed';
      slot.failures++;
      slot.retryAt = this.#now() + backoffMs(slot.failures);
      slot.lastProblem = reason;
      this.o.log.error({ server: server.name, reason }, 'upstream connection failed');
      await this.o
        .record({
          type: 'mcp.server.failed',
          aggregateId,
          data: {
            server: server.name,
            transport,
            reason,
            detail: label((err as Error).message ?? 'failed', 512),
          },
        })
        .catch(() => undefined);
      throw err instanceof UpstreamError
        ? err
        : new UpstreamError('connect_failed', (err as Error).message, { cause: err });
    }
  }

  /** One request to `server`, its result unvalidated beyond JSON-RPC (the firewall reads it itself). */
  async request(
    server: McpServerPolicyData,
    method: string,
    params: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<Result> {
    const conn = await this.connection(server);
    return conn.client.request({ method, params }, ResultSchema, {
      timeout: this.o.requestTimeoutMs,
      ...(signal ? { signal } : {}),
    });
  }

  /** Every item of a paginated list (`tools`, `resources`, `prompts`), bounded. */
  async list(server: McpServerPolicyData, method: string, field: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.request(server, method, cursor ? { cursor } : {});
      const got = (result as Record<string, unknown>)[field];
      if (Array.isArray(got)) items.push(...(got as unknown[]));
      if (items.length >= MAX_LISTED) return items.slice(0, MAX_LISTED);
      const next = (result as { nextCursor?: unknown }).nextCursor;
      if (typeof next !== 'string' || next.length === 0 || next.length > 1024) break;
      cursor = next;
    }
    return items;
  }

  /** Ends every connection that policy no longer names, or all of them. */
  async closeExcept(names: ReadonlySet<string>): Promise<void> {
    const ending: Promise<void>[] = [];
    for (const [name, slot] of this.#slots)
      if (!names.has(name)) {
        this.#slots.delete(name);
        if (slot.conn) ending.push(slot.conn.close());
      }
    await Promise.all(ending);
  }

  closeAll(): Promise<void> {
    return this.closeExcept(new Set());
  }
}
