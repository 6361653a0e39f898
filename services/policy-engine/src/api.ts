import { Type, type Static } from '@sinclair/typebox';
import { Count, DecisionRequest, DecisionResponse, McpPolicySchema } from '@secai/contracts';
import {
  BusHealthSchema,
  DocumentProblemSchema,
  HealthStatusSchema,
  ERROR_RESPONSES,
  Nullable,
  ProblemSchema,
  problemResponse,
  problemWith,
} from '@secai/streams/http';
import { AgentPolicySchema, MainPolicySchema } from './policy/schema.js';

// The policy engine's HTTP contract (127.0.0.1:8500) as data: request and response schemas of
// every route, used by fastify to serialise (and, but for the decide bodies, to validate) and by
// clients for their types.

const Text = Type.String();
const closed = { additionalProperties: false } as const;

/** Most decide requests in one batch. */
export const MAX_BATCH = 64;

/** 200 while the bus is connected; 503 `degraded` while it is not (no decision can be recorded). */
export const HealthResponse = Type.Object(
  { status: HealthStatusSchema, policyDigest: Text, policyVersion: Count, bus: BusHealthSchema },
  closed,
);
export type HealthResponse = Static<typeof HealthResponse>;

/** 503 from /health: no valid policy, so every decision is deny. */
export const NoPolicyHealth = Type.Object(
  {
    status: Type.Literal('no_policy'),
    detail: Text,
    policyDigest: Type.Null(),
    bus: BusHealthSchema,
  },
  closed,
);
export type NoPolicyHealth = Static<typeof NoPolicyHealth>;

export { DecisionRequest, DecisionResponse };

export const BatchRequest = Type.Object(
  { requests: Type.Array(DecisionRequest, { minItems: 1, maxItems: MAX_BATCH }) },
  closed,
);
export type BatchRequest = Static<typeof BatchRequest>;

export const BatchResponse = Type.Object({ results: Type.Array(DecisionResponse) }, closed);
export type BatchResponse = Static<typeof BatchResponse>;

/** 400 from decide: the request was refused, and that refusal is itself a recorded deny. */
export const RefusedDecisionProblem = problemWith(
  { decision: DecisionResponse },
  'RefusedDecisionProblem',
);
export type RefusedDecisionProblem = Static<typeof RefusedDecisionProblem>;

export const PolicyResponse = Type.Object(
  {
    digest: Text,
    version: Count,
    files: Type.Array(Type.Object({ path: Text, digest: Text, sizeBytes: Count }, closed)),
    documents: Type.Object(
      { policy: MainPolicySchema, agent: AgentPolicySchema, mcp: Type.Optional(McpPolicySchema) },
      closed,
    ),
  },
  closed,
);
export type PolicyResponse = Static<typeof PolicyResponse>;

export const StatsResponse = Type.Object(
  {
    policyDigest: Nullable(Text),
    decisions: Count,
    allow: Count,
    deny: Count,
    ask: Count,
    byDomain: Type.Record(Type.String(), Count),
  },
  closed,
);
export type StatsResponse = Static<typeof StatsResponse>;

export const ReloadResponse = Type.Object({ digest: Text, changed: Type.Boolean() }, closed);
export type ReloadResponse = Static<typeof ReloadResponse>;

/** 422 from reload: the policy was refused and the previous one stays active. */
export const PolicyInvalidProblem = problemWith(
  { problems: Type.Array(DocumentProblemSchema, { maxItems: 64 }), activeDigest: Nullable(Text) },
  'PolicyInvalidProblem',
);
export type PolicyInvalidProblem = Static<typeof PolicyInvalidProblem>;

const notRecorded = problemResponse(
  'the decision could not be recorded (DECISION_NOT_RECORDED): deny',
  ProblemSchema,
);

/** The fastify `schema` of each route, by route. */
export const ROUTES = {
  health: {
    summary: 'liveness, the active policy and the bus (no token); 503 when no policy or no bus',
    security: [],
    response: {
      200: HealthResponse,
      503: Type.Union([NoPolicyHealth, HealthResponse]),
      ...ERROR_RESPONSES,
    },
  },
  decide: {
    summary: 'one decision, recorded as policy.decided before the answer',
    body: DecisionRequest,
    response: {
      200: DecisionResponse,
      400: problemResponse('refused request, recorded as a deny', RefusedDecisionProblem),
      503: notRecorded,
      ...ERROR_RESPONSES,
    },
  },
  batch: {
    summary: `up to ${MAX_BATCH} decisions, each recorded`,
    body: BatchRequest,
    response: { 200: BatchResponse, 503: notRecorded, ...ERROR_RESPONSES },
  },
  policy: {
    summary: 'the active policy documents and files',
    response: { 200: PolicyResponse, ...ERROR_RESPONSES },
  },
  stats: {
    summary: 'decision counters since start',
    response: { 200: StatsResponse, ...ERROR_RESPONSES },
  },
  reload: {
    summary: 'reload the policy directory; a refused policy leaves the active one in place',
    response: {
      200: ReloadResponse,
      422: problemResponse('the policy was refused', PolicyInvalidProblem),
      ...ERROR_RESPONSES,
    },
  },
} as const;
