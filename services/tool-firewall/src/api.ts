import { Type, type Static } from '@sinclair/typebox';
import { RedactionCounts, TOOL_CALL_STAGES } from '@secai/contracts';
import {
  BusHealthSchema,
  ERROR_RESPONSES,
  HealthStatusSchema,
  Nullable,
  problemResponse,
  problemWith,
} from '@secai/streams/http';

// The tool firewall's HTTP contract (127.0.0.1:8475) as data: request and response schemas of
// every route, used by fastify to validate and serialise, by the OpenAPI document, and by the CLI
// for its types.

const closed = { additionalProperties: false } as const;
const Text = Type.String();
/** A call id: the aggregate id of its events (an OpenAI tool call id fits). */
export const CallId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** Largest request body: a write's content (1 MiB of text, JSON-escaped) and the rest. */
export const BODY_LIMIT = 4 * 1024 * 1024;

/** The appliance's own shape: the tool, its arguments as a JSON object. */
export const NativeCall = Type.Object(
  {
    tool: Type.String({ maxLength: 1024, description: 'e.g. filesystem.read' }),
    arguments: Type.Optional(
      Type.Unknown({ description: 'a JSON object; checked by the firewall' }),
    ),
    callId: Type.Optional(CallId),
  },
  { ...closed, title: 'ToolCall' },
);
export type NativeCall = Static<typeof NativeCall>;

/** A tool call exactly as an OpenAI chat completion returns it (`choices[0].message.tool_calls[i]`). */
export const OpenAiCall = Type.Object(
  {
    id: CallId,
    type: Type.Literal('function'),
    function: Type.Object(
      {
        name: Type.String({ maxLength: 1024 }),
        arguments: Type.String({
          maxLength: BODY_LIMIT,
          description: 'the arguments as JSON text',
        }),
      },
      closed,
    ),
  },
  { ...closed, title: 'OpenAiToolCall' },
);
export type OpenAiCall = Static<typeof OpenAiCall>;

export const CallRequest = Type.Union([NativeCall, OpenAiCall]);

export const CallResponse = Type.Object(
  {
    callId: CallId,
    tool: Text,
    /** The output as text (JSON text for listings, hashes and searches), redacted and cut. */
    output: Text,
    truncated: Type.Boolean(),
    redactions: RedactionCounts,
    decisionIds: Type.Array(Text),
    /** The `tool.call.completed` event. */
    eventId: Text,
  },
  { ...closed, title: 'ToolCallResult' },
);

/** The answer to an OpenAI-shaped call: the `tool` message to append to the conversation. */
export const OpenAiToolMessage = Type.Object(
  { role: Type.Literal('tool'), tool_call_id: CallId, content: Text },
  { ...closed, title: 'OpenAiToolMessage' },
);

const Stage = Type.Union(TOOL_CALL_STAGES.map((s) => Type.Literal(s)));

/**
 * A refused or failed call: the problem document with what it was refused on. A policy denial
 * (`TOOL_DENIED`) carries the deciding rule, the decision's id (resolvable in the event history)
 * and its evidence digest; every refusal carries the event that recorded it.
 */
export const CallProblem = problemWith(
  {
    callId: Type.Optional(CallId),
    tool: Type.Optional(Nullable(Text)),
    stage: Type.Optional(Nullable(Stage)),
    ruleId: Type.Optional(Nullable(Text)),
    decisionId: Type.Optional(Nullable(Text)),
    inputDigest: Type.Optional(Nullable(Text)),
    decisionIds: Type.Optional(Type.Array(Text)),
    eventId: Type.Optional(Nullable(Text)),
  },
  'ToolCallProblem',
);
export type CallProblem = Static<typeof CallProblem>;

const PathArgumentView = Type.Object(
  {
    name: Text,
    access: Type.Union([Type.Literal('read'), Type.Literal('write')]),
    target: Type.Union([Type.Literal('file'), Type.Literal('directory'), Type.Literal('new-file')]),
  },
  closed,
);

export const ToolView = Type.Object(
  {
    name: Text,
    description: Text,
    /** The JSON schema of its arguments (closed: nothing undeclared is accepted). */
    arguments: Type.Unknown(),
    paths: Type.Array(PathArgumentView),
    /** What the active policy says of it now: an allow entry, a deny entry, or neither. */
    policy: Type.Union([
      Type.Literal('allowed'),
      Type.Literal('denied'),
      Type.Literal('not_listed'),
    ]),
    /** The paths its allow entry lists (the engine decides each call). */
    allowedPaths: Type.Array(Text),
    /** The same tool as an OpenAI `tools[]` entry, for a person's own client. */
    openai: Type.Object(
      {
        type: Type.Literal('function'),
        function: Type.Object(
          { name: Text, description: Text, parameters: Type.Unknown() },
          closed,
        ),
      },
      closed,
    ),
  },
  { ...closed, title: 'Tool' },
);

export const ToolList = Type.Object(
  { policyDigest: Nullable(Text), tools: Type.Array(ToolView) },
  closed,
);

export const CallView = Type.Object(
  {
    callId: Text,
    tool: Nullable(Text),
    caller: Text,
    outcome: Type.Union(['allowed', 'denied', 'completed', 'failed'].map((o) => Type.Literal(o))),
    stage: Nullable(Text),
    code: Nullable(Text),
    ruleId: Nullable(Text),
    decisionIds: Type.Array(Text),
    at: Text,
    durationMs: Nullable(Type.Integer()),
    outputBytes: Nullable(Type.Integer()),
    truncated: Nullable(Type.Boolean()),
    redactions: Nullable(Type.Integer()),
  },
  { ...closed, title: 'ToolCallView' },
);

/** Query values are strings (no coercion at the gateway): `limit` is 1–500 in decimal. */
export const CallsQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]?|[1-4][0-9]{2}|500)$' })) },
  closed,
);

export const HealthResponse = Type.Object(
  {
    status: HealthStatusSchema,
    policy: Type.Union([Type.Literal('active'), Type.Literal('missing')]),
    adapters: Type.Integer({ minimum: 0 }),
    bus: BusHealthSchema,
  },
  closed,
);

const CALL_ERRORS = {
  '4xx': problemResponse(
    'refused: validation 400, policy or path 403, not found 404, reused id 409, rate limit 429 (Retry-After)',
    CallProblem,
  ),
  '5xx': problemResponse('no policy or engine 503 (Retry-After), a failed tool 500', CallProblem),
} as const;

export const ROUTES = {
  health: {
    summary: 'liveness, whether a policy is active, the bus (no token)',
    security: [],
    response: { 200: HealthResponse, 503: HealthResponse, ...ERROR_RESPONSES },
  },
  tools: {
    summary: 'the tools the firewall can run, and what the active policy says of each',
    response: { 200: ToolList, ...ERROR_RESPONSES },
  },
  call: {
    summary:
      'decide and run one tool call; the appliance shape answers a result, an OpenAI tool call a tool message',
    body: CallRequest,
    response: { 200: Type.Union([CallResponse, OpenAiToolMessage]), ...CALL_ERRORS },
  },
  calls: {
    summary: 'the recent calls (newest first), from the firewall’s events',
    querystring: CallsQuery,
    response: { 200: Type.Object({ calls: Type.Array(CallView) }, closed), ...ERROR_RESPONSES },
  },
} as const;

export type CallResult = Static<typeof CallResponse>;
export type ToolListResponse = Static<typeof ToolList>;
export type CallViewData = Static<typeof CallView>;
