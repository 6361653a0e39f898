import { Type, type Static } from '@sinclair/typebox';
import { Count, Digest } from '@secai/contracts';
import {
  BusHealthSchema,
  ERROR_RESPONSES,
  HealthStatusSchema,
  Nullable,
  ProblemSchema,
  problemResponse,
  problemWith,
} from '@secai/streams/http';

// The MCP firewall's HTTP contract (127.0.0.1:8496): `/mcp`, the streamable-HTTP MCP endpoint
// (JSON-RPC bodies, validated by the MCP SDK, not here), and the operator's routes under
// `/api/v1`. Requests are closed: an unknown field is a 400.

const closed = { additionalProperties: false } as const;
const Operator = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f\\x7f]+$' });
const PolicyName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' });
const SessionId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/** A refusal with the firewall's detail (rule id, decision id, reasons) as extension members. */
export const RefusalProblem = problemWith(
  {
    ruleId: Type.Optional(Type.String()),
    decisionId: Type.Optional(Nullable(Type.String())),
    reasons: Type.Optional(Type.Array(Type.String(), { maxItems: 16 })),
  },
  'McpFirewallProblem',
);
const REFUSALS = {
  '4xx': problemResponse('refused: token, scope, request, or a firewall code', RefusalProblem),
  '5xx': ERROR_RESPONSES['5xx'],
} as const;

export const HealthResponse = Type.Object(
  {
    status: HealthStatusSchema,
    policy: Type.Union([Type.Literal('active'), Type.Literal('missing')]),
    servers: Count,
    sessions: Count,
    bus: BusHealthSchema,
  },
  closed,
);

const ToolVersionView = Type.Object(
  {
    digest: Digest,
    description: Type.String(),
    inputSchemaDigest: Digest,
    outputSchemaDigest: Nullable(Digest),
  },
  closed,
);

export const ServerView = Type.Object(
  {
    name: Type.String(),
    trust: Type.String(),
    transport: Type.Union([Type.Literal('stdio'), Type.Literal('http')]),
    /** What policy says the server is reached by (a command line or a URL). */
    endpoint: Type.String(),
    tools: Type.Object({ listed: Count, refused: Count, changed: Count }, closed),
  },
  closed,
);
export const ServersResponse = Type.Object(
  {
    policyDigest: Nullable(Type.String()),
    problem: Nullable(Type.String()),
    servers: Type.Array(ServerView),
  },
  closed,
);

export const ToolView = Type.Object(
  {
    server: Type.String(),
    /** As the upstream named it, invisible characters escaped. */
    name: Type.String(),
    state: Type.Union([Type.Literal('listed'), Type.Literal('changed'), Type.Literal('refused')]),
    reasons: Type.Array(Type.Object({ code: Type.String(), detail: Type.String() }, closed)),
    observed: Nullable(ToolVersionView),
    pinned: Nullable(
      Type.Object({ version: ToolVersionView, operator: Type.String(), at: Type.String() }, closed),
    ),
  },
  closed,
);
export const ToolsQuery = Type.Object({ server: Type.Optional(PolicyName) }, closed);
export const ToolsResponse = Type.Object({ tools: Type.Array(ToolView) }, closed);

export const TaintView = Type.Object(
  {
    label: Type.String(),
    server: Type.String(),
    tool: Type.Optional(Type.String()),
    cause: Type.String(),
    callId: Type.String(),
    at: Type.String(),
  },
  closed,
);
export const SessionView = Type.Object(
  {
    id: Type.String(),
    caller: Type.String(),
    client: Type.Object({ name: Type.String(), version: Type.String() }, closed),
    openedAt: Type.String(),
    closedAt: Nullable(Type.String()),
    connected: Type.Boolean(),
    taint: Type.Array(TaintView),
    lastAt: Type.String(),
  },
  closed,
);
export const SessionsResponse = Type.Object({ sessions: Type.Array(SessionView) }, closed);

export const ApproveRequest = Type.Object(
  {
    server: PolicyName,
    tool: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** Every new clean tool of the server (first setup); a changed tool needs its own approval. */
    all: Type.Optional(Type.Boolean()),
    /** The digest the operator reviewed (`secai mcp tools`): refused if the upstream shows another. */
    digest: Type.Optional(Digest),
    operator: Operator,
  },
  closed,
);
export const ApproveResponse = Type.Object(
  {
    pinned: Type.Array(
      Type.Object(
        { tool: Type.String(), digest: Digest, previousDigest: Nullable(Digest) },
        closed,
      ),
    ),
    skipped: Type.Array(
      Type.Object({ tool: Type.String(), reasons: Type.Array(Type.String()) }, closed),
    ),
  },
  closed,
);

export const SessionParams = Type.Object({ id: SessionId }, closed);
export const ClearTaintRequest = Type.Object(
  {
    operator: Operator,
    reason: Type.String({ minLength: 1, maxLength: 512 }),
    /** Only these labels (default: all). */
    labels: Type.Optional(Type.Array(PolicyName, { maxItems: 64, uniqueItems: true })),
  },
  closed,
);
export const ClearTaintResponse = Type.Object(
  { session: Type.String(), cleared: Type.Array(Type.String()) },
  closed,
);

/** The JSON-RPC body of `POST /mcp`: read by the MCP SDK, which answers malformed ones itself. */
export const McpBody = Type.Union([
  Type.Object({}, { additionalProperties: true }),
  Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 64 }),
]);

/**
 * The headers of `/mcp` (besides the bearer): `Mcp-Session-Id` once a session is open,
 * `X-Secai-Session` to resume one at `initialize`. Answers are JSON-RPC, written by the SDK's
 * transport on the raw response (the response schemas below document them; fastify never
 * serialises them, and the firewall's own JSON-RPC refusals are sent as text).
 */
export const McpHeaders = Type.Object(
  {
    'mcp-session-id': Type.Optional(Type.String({ maxLength: 128 })),
    'x-secai-session': Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: true },
);

/** What `/mcp` answers: JSON-RPC (or, for `GET`, an SSE stream), written by the SDK's transport. */
export const McpAnswer = Type.Object(
  {},
  { additionalProperties: true, description: 'a JSON-RPC answer (GET: an SSE stream)' },
);
/** A refusal of `/mcp` before the MCP layer (JSON-RPC shaped), or the gateway's problem document. */
export const McpRefusal = Type.Union([
  ProblemSchema,
  Type.Object(
    {
      jsonrpc: Type.Literal('2.0'),
      error: Type.Object(
        { code: Type.Integer(), message: Type.String(), data: Type.Optional(Type.Unknown()) },
        { additionalProperties: false },
      ),
      id: Type.Null(),
    },
    { additionalProperties: false, title: 'JsonRpcError' },
  ),
]);
const MCP_RESPONSES = {
  200: McpAnswer,
  202: Type.Null({ description: 'a notification or response accepted' }),
  '4xx': problemResponse(
    'refused: token, scope (problem+json); Host/Origin, no or unknown session, too many opens (JSON-RPC error)',
    McpRefusal,
  ),
  '5xx': ERROR_RESPONSES['5xx'],
} as const;

export const ROUTES = {
  health: {
    summary: 'liveness, policy and bus state',
    response: { 200: HealthResponse, 503: HealthResponse, ...ERROR_RESPONSES },
  },
  mcpPost: {
    summary: 'MCP streamable HTTP: JSON-RPC requests of a client session',
    body: McpBody,
    headers: McpHeaders,
    response: MCP_RESPONSES,
  },
  mcpGet: {
    summary: 'MCP streamable HTTP: the session stream of server notifications',
    headers: McpHeaders,
    response: MCP_RESPONSES,
  },
  mcpDelete: {
    summary: 'MCP streamable HTTP: end the session',
    headers: McpHeaders,
    response: MCP_RESPONSES,
  },
  servers: {
    summary: 'the upstream servers policy names, with their tools counted by state',
    response: { 200: ServersResponse, ...ERROR_RESPONSES },
  },
  tools: {
    summary: 'every upstream tool observed, with its pin and why it is not listed',
    querystring: ToolsQuery,
    response: { 200: ToolsResponse, ...ERROR_RESPONSES },
  },
  sessions: {
    summary: 'the sessions and their taint',
    response: { 200: SessionsResponse, ...ERROR_RESPONSES },
  },
  approve: {
    summary: 'pin the version of a tool (or every new tool of a server) the upstream shows now',
    body: ApproveRequest,
    response: { 200: ApproveResponse, ...REFUSALS },
  },
  clearTaint: {
    summary: "clear a session's taint (an operator's decision, recorded)",
    params: SessionParams,
    body: ClearTaintRequest,
    response: { 200: ClearTaintResponse, ...REFUSALS },
  },
} as const;

export type ApproveRequestBody = Static<typeof ApproveRequest>;
export type ClearTaintBody = Static<typeof ClearTaintRequest>;
export type ServersBody = Static<typeof ServersResponse>;
export type ToolsBody = Static<typeof ToolsResponse>;
export type SessionsBody = Static<typeof SessionsResponse>;
export type ApproveBody = Static<typeof ApproveResponse>;
