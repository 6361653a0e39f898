import { isAbsolute } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerPolicyData } from '@secai/contracts';
import { spawnSandboxed, type SpawnLimits } from '@secai/sandbox';
import { boundedFetch } from './boundedFetch.js';
import { LineTransport } from './lineTransport.js';

// Connecting to one upstream MCP server named in policy: a local command launched in the sandbox
// (no network, read-only file system, `nobody`), spoken to over its stdio; or a streamable-HTTP
// server on a loopback address. The firewall is a client with no capabilities: an upstream cannot
// ask it (or through it, a user's client) for sampling, roots or elicitation.

export const CLIENT_INFO = { name: 'secai-mcp-firewall', version: '0.1.0' } as const;

export interface UpstreamConnection {
  client: Client;
  transport: 'stdio' | 'http';
  sandbox: 'namespaces' | 'process' | 'remote';
  /** What was not in force (for a local server: e.g. "not network-isolated: not running as root"). */
  notes: string[];
  /** Last stderr bytes of a local server (diagnosis only; never logged raw, never in an event). */
  stderrTail: () => string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  maxMessageBytes: number;
  connectTimeoutMs: number;
  spawnLimits?: Partial<SpawnLimits>;
  /** Called when the connection ends by itself (the process exited, the transport closed). */
  onClosed: () => void;
  /** Called when the upstream says its tools changed (`notifications/tools/list_changed`). */
  onToolsChanged?: () => void;
}

export class UpstreamError extends Error {
  constructor(
    readonly reason: 'spawn_failed' | 'connect_failed' | 'not_loopback' | 'no_endpoint',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }
}

/** Whether `url` is `http://` on a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHttp(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' || u.username || u.password) return false;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The script a `node <script>` command runs, whose code root the sandbox must show. */
function scriptOf(command: readonly string[]): string | undefined {
  const [program, script] = command;
  return (program === 'node' || program === process.execPath) && script && isAbsolute(script)
    ? script
    : undefined;
}

export async function connectUpstream(
  server: McpServerPolicyData,
  o: ConnectOptions,
): Promise<UpstreamConnection> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  // The one notification relayed in effect: the catalogue lists the server again, and clients are
  // told to list again (what they then see is judged like any listing).
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => o.onToolsChanged?.());
  let transport: Transport;
  let result: Omit<UpstreamConnection, 'client' | 'close'>;
  let kill: () => Promise<void> = () => Promise.resolve();
  if (server.command !== undefined) {
    const script = scriptOf(server.command);
    let proc;
    try {
      proc = await spawnSandboxed(
        { command: [...server.command], ...(script ? { codeMount: script } : {}) },
        o.spawnLimits,
      );
    } catch (err) {
      throw new UpstreamError('spawn_failed', (err as Error).message, { cause: err });
    }
    transport = new LineTransport({
      stdin: proc.stdin,
      stdout: proc.stdout,
      maxMessageBytes: o.maxMessageBytes,
      kill: () => proc.kill(),
      exited: proc.exited,
    });
    kill = () => proc.kill();
    result = {
      transport: 'stdio',
      sandbox: proc.isolation.sandbox === 'namespaces' ? 'namespaces' : 'process',
      notes: proc.notes,
      stderrTail: () => proc.stderrTail(),
    };
  } else if (server.url !== undefined) {
    if (!isLoopbackHttp(server.url))
      throw new UpstreamError(
        'not_loopback',
        'an HTTP upstream must be http:// on a loopback address',
      );
    const url = new URL(server.url);
    transport = new StreamableHTTPClientTransport(url, {
      fetch: boundedFetch(url.origin, o.maxMessageBytes),
    });
    result = { transport: 'http', sandbox: 'remote', notes: [], stderrTail: () => '' };
  } else throw new UpstreamError('no_endpoint', 'the server names neither a command nor a url');

  let closing = false;
  client.onclose = () => {
    if (!closing) o.onClosed();
  };
  try {
    await client.connect(transport, { timeout: o.connectTimeoutMs });
  } catch (err) {
    await client.close().catch(() => undefined);
    await kill().catch(() => undefined);
    throw new UpstreamError('connect_failed', (err as Error).message, { cause: err });
  }
  return {
    ...result,
    client,
    async close() {
      closing = true;
      await client.close().catch(() => undefined);
      await kill().catch(() => undefined);
    },
  };
}
