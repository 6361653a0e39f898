import { Type, type Static } from '@sinclair/typebox';
import {
  Count,
  INCIDENT_CLASSES,
  INCIDENT_SEVERITIES,
  IncidentClass,
  IncidentSeverity,
  INCIDENT_STATES,
  type IncidentState,
} from '@secai/contracts';
import {
  DocumentProblemSchema,
  ERROR_RESPONSES,
  Nullable,
  problemResponse,
  problemWith,
} from '@secai/streams/http';

// The incident recorder's HTTP contract (127.0.0.1:8515) as data: request and response schemas
// of every route, used by fastify to validate and serialise and by clients (the CLI) for their
// types. The incident state list itself is contracts' (`INCIDENT_STATES`), shared with the machine.

const Text = Type.String();
const closed = { additionalProperties: false } as const;

/** The lifecycle states an incident can be in, in lifecycle order (one list, in contracts). */
export { INCIDENT_STATES, type IncidentState };
export const IncidentStateSchema = Type.Union(INCIDENT_STATES.map((s) => Type.Literal(s)));

/** A record whose opening event the machine refused is shown as `none` (a history anomaly). */
const ViewState = Type.Union([Type.Literal('none'), IncidentStateSchema]);

const Signoff = Nullable(Type.Object({ operator: Text, note: Text, at: Text }, closed));

/** An incident as the HTTP API and the CLI show it. */
export const IncidentViewSchema = Type.Object(
  {
    id: Text,
    state: ViewState,
    class: Text,
    severity: Text,
    subject: Text,
    reportedBy: Text,
    description: Text,
    openedAt: Text,
    observationCount: Count,
    causeEventIds: Type.Array(Text, { description: 'the last (at most 32) observations' }),
    escalations: Type.Array(Type.Object({ ruleId: Text, from: Text, to: Text, at: Text }, closed)),
    containment: Type.Object(
      {
        requested: Type.Boolean(),
        requestedAt: Nullable(Text),
        actions: Type.Array(
          Type.Object(
            {
              action: Text,
              target: Text,
              status: Type.Union([
                Type.Literal('pending'),
                Type.Literal('succeeded'),
                Type.Literal('failed'),
              ]),
              detail: Nullable(Text),
              durationMs: Nullable(Count),
              completedAt: Nullable(Text),
            },
            closed,
          ),
        ),
        concludedAt: Nullable(Text),
      },
      closed,
    ),
    ceremony: Type.Object(
      {
        binding: Text,
        reattestRequired: Type.Boolean(),
        requiredAfterSeq: Type.Integer({
          minimum: 0,
          description: 'a re-attestation counts only if stored after this stream sequence',
        }),
        attestationEventId: Nullable(Text),
      },
      closed,
    ),
    resolved: Signoff,
    acknowledged: Signoff,
    lastSeq: Count,
    anomalies: Count,
  },
  { ...closed, title: 'IncidentView' },
);
export type IncidentView = Static<typeof IncidentViewSchema>;

export const IncidentId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const IdParams = Type.Object({ id: IncidentId }, closed);
export type IdParams = Static<typeof IdParams>;

export const ListQuery = Type.Object(
  {
    class: Type.Optional(IncidentClass),
    state: Type.Optional(IncidentStateSchema),
    severity: Type.Optional(IncidentSeverity),
    subject: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })),
  },
  closed,
);
export type ListQuery = Static<typeof ListQuery>;

export const ListResponse = Type.Object(
  { incidents: Type.Array(IncidentViewSchema), total: Count },
  closed,
);
export type ListResponse = Static<typeof ListResponse>;

export const TimelineEntry = Type.Object(
  { seq: Count, id: Text, type: Text, time: Text, data: Type.Unknown() },
  closed,
);
export type TimelineEntry = Static<typeof TimelineEntry>;

export const ShowResponse = Type.Object(
  { incident: IncidentViewSchema, timeline: Type.Array(TimelineEntry) },
  closed,
);
export type ShowResponse = Static<typeof ShowResponse>;

export const StepBody = Type.Object(
  {
    operator: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f\\x7f]+$' }),
    note: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  closed,
);
export type StepBody = Static<typeof StepBody>;

export const StepResponse = Type.Object({ incident: IncidentViewSchema }, closed);
export type StepResponse = Static<typeof StepResponse>;

const counts = <K extends string>(keys: readonly K[]) =>
  Type.Object(Object.fromEntries(keys.map((k) => [k, Count])) as Record<K, typeof Count>, closed);

export const StatsResponse = Type.Object(
  {
    total: Count,
    open: Count,
    byState: counts(INCIDENT_STATES),
    byClass: counts(INCIDENT_CLASSES),
    openBySeverity: counts(INCIDENT_SEVERITIES),
    observations: Count,
    containment: Type.Object({ contained: Count, failed: Count, pending: Count }, closed),
    policyDigest: Text,
  },
  closed,
);
export type StatsResponse = Static<typeof StatsResponse>;

export const HealthResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    chain: Type.Object(
      { lastSeq: Count, sealedToSeq: Count, head: Text, mismatches: Count },
      closed,
    ),
    incidents: Type.Object({ total: Count, open: Count, anomalies: Count }, closed),
    /** Stored observations not yet settled by the observation lanes (null: the server did not say). */
    lag: Type.Object(
      {
        total: Type.Union([Count, Type.Null()]),
        /** Above this, the status is degraded. */
        max: Count,
        sampledAt: Type.Union([Text, Type.Null()]),
        consumers: Type.Array(
          Type.Object({ durable: Text, lag: Count, ackFloor: Count, ackPending: Count }, closed),
          { maxItems: 16 },
        ),
      },
      closed,
    ),
    bus: Type.Object(
      {
        state: Type.Union([
          Type.Literal('connected'),
          Type.Literal('reconnecting'),
          Type.Literal('closed'),
        ]),
        since: Text,
        reconnects: Count,
      },
      closed,
    ),
    /** Why the status is degraded by the intake (empty otherwise). */
    reasons: Type.Array(Text, { maxItems: 16 }),
    policyDigest: Text,
  },
  closed,
);
export type HealthResponse = Static<typeof HealthResponse>;

export const ReloadResponse = Type.Object(
  { status: Type.Literal('reloaded'), digest: Text, changed: Type.Boolean() },
  closed,
);
export type ReloadResponse = Static<typeof ReloadResponse>;

/** 422 from reload: the policy was refused and the previous one stays active. */
export const PolicyInvalidProblem = problemWith(
  { problems: Type.Array(DocumentProblemSchema, { maxItems: 100 }) },
  'PolicyInvalidProblem',
);
export type PolicyInvalidProblem = Static<typeof PolicyInvalidProblem>;

const BUNDLE_MEDIA_TYPE = 'application/x-ndjson';

/** The fastify `schema` of each route, by route. */
export const ROUTES = {
  health: {
    summary: 'liveness, the audit chain and incident counts (no token)',
    security: [],
    response: { 200: HealthResponse, ...ERROR_RESPONSES },
  },
  list: {
    summary: 'incidents, most severe and newest first',
    querystring: ListQuery,
    response: { 200: ListResponse, ...ERROR_RESPONSES },
  },
  show: {
    summary: 'one incident with its full timeline',
    params: IdParams,
    response: { 200: ShowResponse, ...ERROR_RESPONSES },
  },
  step: {
    summary: 'a lifecycle step by an operator (resolve: the recovery ceremony; acknowledge)',
    params: IdParams,
    body: StepBody,
    response: { 200: StepResponse, ...ERROR_RESPONSES },
  },
  export: {
    summary: 'the incident’s forensic bundle: a sealed, contiguous range of the stream',
    params: IdParams,
    response: {
      200: {
        description: 'one signed envelope per line; Secai-Bundle-* and Secai-Selection* headers',
        content: { [BUNDLE_MEDIA_TYPE]: { schema: Type.String() } },
      },
      ...ERROR_RESPONSES,
    },
  },
  stats: {
    summary: 'incident counts by state, class and severity',
    response: { 200: StatsResponse, ...ERROR_RESPONSES },
  },
  reload: {
    summary: 'reload incidents.yaml; a refused policy leaves the active one in place',
    response: {
      200: ReloadResponse,
      422: problemResponse('the incident policy was refused', PolicyInvalidProblem),
      ...ERROR_RESPONSES,
    },
  },
} as const;
