import { Type, type Static } from '@sinclair/typebox';
import { Count, Digest } from '@secai/contracts';
import {
  BusHealthSchema,
  ERROR_RESPONSES,
  HealthStatusSchema,
  Nullable,
  problemResponse,
  problemWith,
} from '@secai/streams/http';

// The inference HTTP contract (127.0.0.1:8465): the OpenAI-compatible routes (`/v1/*`), in the
// subset of OpenAI's shapes this service implements, and the appliance's own (`/api/v1/*`).
// Requests are closed: a field OpenAI has and this service does not implement is refused by
// name (400), never silently ignored.

const closed = { additionalProperties: false } as const;
const Str = (maxLength: number) => Type.String({ maxLength });

const TextPart = Type.Object({ type: Type.Literal('text'), text: Str(1_000_000) }, closed);
const Content = Type.Union([Str(1_000_000), Type.Array(TextPart, { maxItems: 256 })]);
const ToolCallSchema = Type.Object(
  {
    id: Str(128),
    type: Type.Literal('function'),
    function: Type.Object({ name: Str(64), arguments: Str(100_000) }, closed),
  },
  closed,
);
const Name = Type.Optional(Str(64));
export const ChatMessageSchema = Type.Union([
  Type.Object(
    {
      role: Type.Union([Type.Literal('system'), Type.Literal('developer')]),
      content: Content,
      name: Name,
    },
    closed,
  ),
  Type.Object({ role: Type.Literal('user'), content: Content, name: Name }, closed),
  Type.Object(
    {
      role: Type.Literal('assistant'),
      content: Type.Optional(Nullable(Content)),
      name: Name,
      refusal: Type.Optional(Nullable(Str(10_000))),
      tool_calls: Type.Optional(Type.Array(ToolCallSchema, { maxItems: 32 })),
    },
    closed,
  ),
  Type.Object({ role: Type.Literal('tool'), content: Content, tool_call_id: Str(128) }, closed),
]);

const Stop = Type.Optional(Nullable(Type.Union([Str(256), Type.Array(Str(256), { maxItems: 4 })])));
const Sampling = {
  model: Type.String({ minLength: 1, maxLength: 600 }),
  max_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 131072 }))),
  temperature: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 2 }))),
  top_p: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1 }))),
  seed: Type.Optional(Nullable(Type.Integer({ minimum: -(2 ** 53 - 1), maximum: 2 ** 53 - 1 }))),
  stop: Stop,
  stream: Type.Optional(Nullable(Type.Boolean())),
  stream_options: Type.Optional(
    Nullable(Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, closed)),
  ),
  n: Type.Optional(Nullable(Type.Literal(1))),
  user: Type.Optional(Str(256)),
  /** Accepted only at their neutral value: this service does not implement them. */
  presence_penalty: Type.Optional(Nullable(Type.Literal(0))),
  frequency_penalty: Type.Optional(Nullable(Type.Literal(0))),
  logprobs: Type.Optional(Nullable(Type.Literal(false))),
};

const JsonSchemaObject = Type.Object({}, { additionalProperties: true, maxProperties: 256 });
export const ToolSchema = Type.Object(
  {
    type: Type.Literal('function'),
    function: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
        description: Type.Optional(Str(4096)),
        parameters: Type.Optional(JsonSchemaObject),
        strict: Type.Optional(Nullable(Type.Boolean())),
      },
      closed,
    ),
  },
  closed,
);

export const ChatCompletionRequest = Type.Object(
  {
    ...Sampling,
    messages: Type.Array(ChatMessageSchema, { minItems: 1, maxItems: 1024 }),
    max_completion_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 131072 }))),
    response_format: Type.Optional(
      Type.Union([
        Type.Object({ type: Type.Literal('text') }, closed),
        Type.Object({ type: Type.Literal('json_object') }, closed),
        Type.Object(
          {
            type: Type.Literal('json_schema'),
            json_schema: Type.Object(
              {
                name: Str(64),
                description: Type.Optional(Str(4096)),
                schema: Type.Optional(JsonSchemaObject),
                strict: Type.Optional(Nullable(Type.Boolean())),
              },
              closed,
            ),
          },
          closed,
        ),
      ]),
    ),
    tools: Type.Optional(Type.Array(ToolSchema, { maxItems: 64 })),
    tool_choice: Type.Optional(
      Type.Union([
        Type.Literal('none'),
        Type.Literal('auto'),
        Type.Literal('required'),
        Type.Object(
          {
            type: Type.Literal('function'),
            function: Type.Object({ name: Str(64) }, closed),
          },
          closed,
        ),
      ]),
    ),
    parallel_tool_calls: Type.Optional(Nullable(Type.Boolean())),
  },
  closed,
);
export type ChatCompletionRequest = Static<typeof ChatCompletionRequest>;

export const CompletionRequest = Type.Object(
  {
    ...Sampling,
    prompt: Type.Union([Str(1_000_000), Type.Array(Str(1_000_000), { minItems: 1, maxItems: 1 })]),
    echo: Type.Optional(Nullable(Type.Literal(false))),
  },
  closed,
);
export type CompletionRequest = Static<typeof CompletionRequest>;

export const EmbeddingRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 600 }),
    input: Type.Union([Str(100_000), Type.Array(Str(100_000), { minItems: 1, maxItems: 64 })]),
    encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
    user: Type.Optional(Str(256)),
  },
  closed,
);
export type EmbeddingRequest = Static<typeof EmbeddingRequest>;

const Usage = Type.Object(
  { prompt_tokens: Count, completion_tokens: Count, total_tokens: Count },
  closed,
);

export const ChatCompletionResponse = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion'),
    created: Count,
    model: Type.String(),
    system_fingerprint: Type.String(),
    choices: Type.Array(
      Type.Object(
        {
          index: Count,
          message: Type.Object(
            {
              role: Type.Literal('assistant'),
              content: Nullable(Type.String()),
              refusal: Type.Null(),
              tool_calls: Type.Optional(Type.Array(ToolCallSchema)),
            },
            closed,
          ),
          finish_reason: Type.String(),
          logprobs: Type.Null(),
        },
        closed,
      ),
    ),
    usage: Usage,
  },
  closed,
);

export const CompletionResponse = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('text_completion'),
    created: Count,
    model: Type.String(),
    system_fingerprint: Type.String(),
    choices: Type.Array(
      Type.Object(
        { index: Count, text: Type.String(), finish_reason: Type.String(), logprobs: Type.Null() },
        closed,
      ),
    ),
    usage: Usage,
  },
  closed,
);

export const EmbeddingResponse = Type.Object(
  {
    object: Type.Literal('list'),
    model: Type.String(),
    data: Type.Array(
      Type.Object(
        {
          object: Type.Literal('embedding'),
          index: Count,
          embedding: Type.Union([Type.Array(Type.Number()), Type.String()]),
        },
        closed,
      ),
    ),
    usage: Type.Object({ prompt_tokens: Count, total_tokens: Count }, closed),
  },
  closed,
);

export const ModelObject = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('model'),
    created: Count,
    owned_by: Type.String(),
    digest: Digest,
    name: Type.String(),
    loaded: Type.Boolean(),
  },
  closed,
);
export const ModelList = Type.Object(
  { object: Type.Literal('list'), data: Type.Array(ModelObject) },
  closed,
);

/** OpenAI clients read `error`; the problem members are the appliance's own. */
export const OpenAiProblem = problemWith(
  {
    error: Type.Optional(
      Type.Object(
        { message: Type.String(), type: Type.String(), code: Type.String(), param: Type.Null() },
        closed,
      ),
    ),
  },
  'OpenAiProblem',
);
const OPENAI_ERRORS = {
  '4xx': problemResponse('refused (401 key, 404 model, 409 contained, 429 limits)', OpenAiProblem),
  '5xx': problemResponse('failed (503 busy or no policy, 504 timeout)', OpenAiProblem),
} as const;

// ---- The appliance's own routes ----

export const SentinelRequest = Type.Object(
  {
    model: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
    prompt: Type.String({ minLength: 1, maxLength: 4096 }),
    maxTokens: Type.Integer({ minimum: 1, maximum: 256 }),
  },
  closed,
);
export type SentinelRequest = Static<typeof SentinelRequest>;
const TextDigestSchema = Type.Object({ digest: Digest, length: Count }, closed);
export const SentinelResponse = Type.Object(
  {
    model: Digest,
    backend: Type.String(),
    tokens: Type.Array(Type.Integer({ minimum: 0 })),
    output: TextDigestSchema,
  },
  closed,
);

export const OpenSessionRequest = Type.Object(
  { model: Type.String({ minLength: 1, maxLength: 600 }) },
  closed,
);
export const SessionView = Type.Object(
  {
    id: Type.String(),
    model: Digest,
    modelId: Type.String(),
    mode: Type.String(),
    requests: Count,
    openedAt: Type.String(),
    lastUsedAt: Type.String(),
  },
  closed,
);
export const SessionParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, closed);

export const KeyName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const CreateKeyRequest = Type.Object(
  {
    name: KeyName,
    createdBy: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f\\x7f]+$' }),
  },
  closed,
);
export const CreatedKey = Type.Object(
  { name: Type.String(), key: Type.String(), hint: Type.String(), eventId: Type.String() },
  closed,
);
export const KeyView = Type.Object(
  {
    name: Type.String(),
    hint: Type.String(),
    createdBy: Type.String(),
    createdAt: Type.String(),
    revokedAt: Nullable(Type.String()),
  },
  closed,
);
export const KeyParams = Type.Object({ name: KeyName }, closed);
export const RevokeKeyRequest = Type.Object(
  {
    revokedBy: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f\\x7f]+$' }),
    reason: Type.Optional(Type.String({ maxLength: 256 })),
  },
  closed,
);

export const StatusResponse = Type.Object(
  {
    backend: Type.String(),
    threads: Count,
    policyDigest: Nullable(Type.String()),
    models: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          digest: Digest,
          loaded: Type.Boolean(),
          contextSize: Nullable(Count),
          inFlight: Count,
        },
        closed,
      ),
    ),
    sessions: Count,
    running: Count,
    queued: Count,
    memory: Type.Object({ rssBytes: Count, heapUsedBytes: Count }, closed),
  },
  closed,
);

export const HealthResponse = Type.Object(
  {
    status: HealthStatusSchema,
    models: Count,
    policy: Type.Union([Type.Literal('active'), Type.Literal('missing')]),
    bus: BusHealthSchema,
  },
  closed,
);

export const ROUTES = {
  health: {
    summary: 'liveness, policy and bus state',
    response: { 200: HealthResponse, 503: HealthResponse },
  },
  models: {
    summary: 'the trusted models this service serves',
    response: { 200: ModelList, ...OPENAI_ERRORS },
  },
  chat: {
    summary: 'OpenAI chat completion (SSE when stream is true)',
    body: ChatCompletionRequest,
    response: { 200: ChatCompletionResponse, ...OPENAI_ERRORS },
  },
  completion: {
    summary: 'OpenAI text completion (SSE when stream is true)',
    body: CompletionRequest,
    response: { 200: CompletionResponse, ...OPENAI_ERRORS },
  },
  embeddings: {
    summary: 'OpenAI embeddings, where the model supports them',
    body: EmbeddingRequest,
    response: { 200: EmbeddingResponse, ...OPENAI_ERRORS },
  },
  sentinel: {
    summary: 'greedy tokens of a fixed prompt (the GPU watch)',
    body: SentinelRequest,
    response: { 200: SentinelResponse, ...OPENAI_ERRORS },
  },
  openSession: {
    summary: 'open a named session (its own context sequence)',
    body: OpenSessionRequest,
    response: { 201: SessionView, ...OPENAI_ERRORS },
  },
  closeSession: {
    summary: 'close one of your sessions',
    params: SessionParams,
    response: { 204: Type.Null(), ...OPENAI_ERRORS },
  },
  status: {
    summary: 'loaded models, sessions, memory',
    response: { 200: StatusResponse, ...ERROR_RESPONSES },
  },
  createKey: {
    summary: 'make an API key (shown once)',
    body: CreateKeyRequest,
    response: { 201: CreatedKey, ...OPENAI_ERRORS },
  },
  listKeys: {
    summary: 'the API keys (names and hints, never keys)',
    response: { 200: Type.Object({ keys: Type.Array(KeyView) }, closed), ...ERROR_RESPONSES },
  },
  revokeKey: {
    summary: 'revoke an API key',
    params: KeyParams,
    body: RevokeKeyRequest,
    response: { 200: KeyView, ...OPENAI_ERRORS },
  },
} as const;
