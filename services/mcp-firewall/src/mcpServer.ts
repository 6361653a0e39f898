import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type ServerResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '@secai/streams';
import { McpFirewallError } from './errors.js';
import type { CallContext, Gate } from './gate.js';

// The MCP server a client talks to: one SDK `Server` per client session, whose every handler goes
// through the gate. It offers tools, resources and prompts, nothing else (no sampling, logging or
// completion is relayed). A refusal reaches the client as a JSON-RPC error with a stable code.

export const SERVER_INFO = { name: 'secai-mcp-firewall', version: '0.1.0' } as const;

const INSTRUCTIONS =
  'Tools, resources and prompts of the upstream MCP servers the appliance policy names, each call decided by policy and recorded. A refused call is an error whose data.code says why (POLICY_DENIED, APPROVAL_REQUIRED, TOOL_NOT_APPROVED, RATE_LIMITED, ...).';

export function sessionServer(gate: Gate, ctx: CallContext, log: Logger): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} },
    instructions: INSTRUCTIONS,
  });
  /** Refusals as JSON-RPC errors; anything unexpected as an internal error without details. */
  const guarded =
    <A extends unknown[]>(work: (...a: A) => Promise<Record<string, unknown>>) =>
    async (...a: A): Promise<ServerResult> => {
      try {
        return await work(...a);
      } catch (err) {
        if (err instanceof McpFirewallError) throw err.toMcpError();
        log.error({ err, session: ctx.session }, 'MCP request failed');
        throw new McpFirewallError(
          'UPSTREAM_FAILED',
          'the request failed inside the firewall',
        ).toMcpError();
      }
    };
  server.setRequestHandler(
    ListToolsRequestSchema,
    guarded(async () => gate.listTools(ctx) as unknown as Promise<Record<string, unknown>>),
  );
  server.setRequestHandler(
    CallToolRequestSchema,
    guarded((request: { params: { name: string; arguments?: unknown } }) =>
      gate.callTool(ctx, request.params.name, request.params.arguments),
    ),
  );
  server.setRequestHandler(
    ListResourcesRequestSchema,
    guarded(() => gate.listResources(ctx)),
  );
  server.setRequestHandler(
    ReadResourceRequestSchema,
    guarded((request: { params: { uri: string } }) => gate.readResource(ctx, request.params.uri)),
  );
  server.setRequestHandler(
    ListPromptsRequestSchema,
    guarded(() => gate.listPrompts(ctx)),
  );
  server.setRequestHandler(
    GetPromptRequestSchema,
    guarded((request: { params: { name: string; arguments?: unknown } }) =>
      gate.getPrompt(ctx, request.params.name, request.params.arguments),
    ),
  );
  return server;
}
