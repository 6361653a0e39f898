import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';

// A streamable-HTTP MCP server on loopback that tests and the bench control from the outside:
// its tools are plain data (name, description, schema, answer), changed between two listings to
// stage a rug pull, a poisoned description, a shadowing name or a huge answer. Stateless (each
// request gets a fresh SDK `Server` over the current tools), so nothing of one request leaks into
// the next. `@secai/mcp-firewall/testing`: never used by the service itself.

export interface UpstreamTool {
  name: string;
  description: string;
  inputSchema?: Record<string, unknown>;
  /** The answer to a call (given the call's arguments). */
  answer: (args: Record<string, unknown>) => CallToolResult | Promise<CallToolResult>;
}

export interface TestUpstream {
  url: string;
  port: number;
  /** The tools, by name: replace or edit entries to change what the next listing shows. */
  tools: Map<string, UpstreamTool>;
  /** Calls received, by tool name. */
  calls: Map<string, number>;
  close(): Promise<void>;
}

export const OBJECT_SCHEMA = { type: 'object', properties: {} } as const;

export async function startTestUpstream(
  tools: readonly UpstreamTool[],
  info = { name: 'test-web', version: '1.0.0' },
): Promise<TestUpstream> {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const calls = new Map<string, number>();
  const serverFor = () => {
    const server = new Server(info, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [...byName.values()].map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: t.inputSchema ?? OBJECT_SCHEMA,
      })),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const tool = byName.get(request.params.name);
      calls.set(request.params.name, (calls.get(request.params.name) ?? 0) + 1);
      if (!tool) return { content: [{ type: 'text', text: 'no such tool' }], isError: true };
      return tool.answer(request.params.arguments ?? {});
    });
    return server;
  };
  const http: HttpServer = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = serverFor();
    const transport = new StreamableHTTPServerTransport({
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    tools: byName,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
