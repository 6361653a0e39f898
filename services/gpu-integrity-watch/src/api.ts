import { Type, type Static } from '@sinclair/typebox';
import {
  Count,
  Digest,
  GPU_PROBES,
  GpuProbe,
  GpuVerdict,
  NonEmpty,
  Operator,
  ProbeResult,
  ProbeStatus,
  Severity,
} from '@secai/contracts';
import {
  BusHealthSchema,
  ERROR_RESPONSES,
  HealthStatusSchema,
  Nullable,
} from '@secai/streams/http';

// The GPU integrity watch's HTTP contract (127.0.0.1:8495) as data: request and response schemas
// of every route, used by fastify to validate and serialise and by clients for their types.

const Text = Type.String();
const closed = { additionalProperties: false } as const;
const Score = Type.Number({ minimum: 0, maximum: 1 });
const Trend = Type.Number({ minimum: -1, maximum: 1 });
const VerdictOrUnknown = Type.Union([GpuVerdict, Type.Literal('unknown')]);

/** Probe → score (or status) of the probes that ran; skipped ones are absent. */
const ProbeScores = Type.Object(
  Object.fromEntries(GPU_PROBES.map((p) => [p, Type.Optional(Score)])),
  closed,
);
const ProbeStatuses = Type.Object(
  Object.fromEntries(GPU_PROBES.map((p) => [p, Type.Optional(ProbeStatus)])),
  closed,
);

export const DriverSchema = Type.Object(
  { version: Text, module: Text, moduleDigest: Nullable(Digest) },
  { ...closed, title: 'DriverFingerprint' },
);

export const AnomalyKind = Type.Union(
  [
    'model_drift',
    'model_file_changed',
    'hardware_fault',
    'driver_changed',
    'device_unexpected',
  ].map((k) => Type.Literal(k)),
);

export const AnomalySchema = Type.Object(
  {
    kind: AnomalyKind,
    model: Nullable(Digest),
    failedProbes: Type.Array(GpuProbe),
    severity: Severity,
    summary: Text,
    reported: Type.Boolean(),
  },
  { ...closed, title: 'Anomaly' },
);

export const PolicySchema = Type.Object(
  {
    active: Type.Boolean(),
    digest: Nullable(Digest),
    problem: Nullable(Text),
    intervalSeconds: Nullable(Count),
    disabledProbes: Type.Array(GpuProbe),
  },
  { ...closed, title: 'GpuWatchPolicy' },
);

/**
 * 200 `ok` while the bus is connected, 503 `degraded` while it is not. `watching` is false while
 * no valid policy is active (no cycle runs; `policyProblem` says why).
 */
export const HealthResponse = Type.Object(
  {
    status: HealthStatusSchema,
    watching: Type.Boolean(),
    policyProblem: Nullable(Text),
    lastCycle: Nullable(Type.Object({ cycle: Count, at: Text, verdict: GpuVerdict }, closed)),
    bus: BusHealthSchema,
  },
  closed,
);
export type HealthResponse = Static<typeof HealthResponse>;

export const StatusResponse = Type.Object(
  {
    host: Text,
    verdict: VerdictOrUnknown,
    composite: Nullable(Score),
    cycle: Count,
    lastCycleAt: Nullable(Text),
    probes: Type.Array(ProbeResult),
    trend: Trend,
    anomalies: Type.Array(AnomalySchema),
    anomaliesReported: Count,
    baseline: Nullable(
      Type.Object(
        {
          eventId: Text,
          capturedAt: Text,
          operator: Text,
          reason: Text,
          sentinels: Count,
          tensorHashes: Count,
          host: Nullable(
            Type.Object(
              { capturedAt: Text, driver: Nullable(DriverSchema), devices: Type.Array(Text) },
              closed,
            ),
          ),
        },
        closed,
      ),
    ),
    policy: PolicySchema,
    nextCycleAt: Nullable(Text),
  },
  closed,
);
export type StatusResponse = Static<typeof StatusResponse>;

export const ScoreEntrySchema = Type.Object(
  {
    cycle: Count,
    at: Text,
    composite: Score,
    verdict: GpuVerdict,
    probeScores: ProbeScores,
    probeStatuses: ProbeStatuses,
  },
  { ...closed, title: 'ScoreEntry' },
);

/** Query values are strings (no coercion at the gateway): `limit` is 1–200 in decimal. */
export const HistoryQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]?|1[0-9]{2}|200)$' })) },
  closed,
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const HistoryResponse = Type.Object(
  { entries: Type.Array(ScoreEntrySchema), count: Count, trend: Trend },
  closed,
);
export type HistoryResponse = Static<typeof HistoryResponse>;

export const AnomalyEventSchema = Type.Object(
  {
    host: Text,
    cycle: Count,
    verdict: Type.Union([Type.Literal('warning'), Type.Literal('critical')]),
    composite: Score,
    kind: AnomalyKind,
    severity: Severity,
    model: Nullable(Digest),
    failedProbes: Type.Array(GpuProbe),
    summary: Text,
  },
  closed,
);

export const CheckResponse = Type.Object(
  {
    cycle: Count,
    trigger: Type.Union([
      Type.Literal('startup'),
      Type.Literal('periodic'),
      Type.Literal('request'),
    ]),
    eventId: Text,
    at: Text,
    verdict: GpuVerdict,
    composite: Score,
    probes: Type.Array(ProbeResult),
    reported: Type.Array(AnomalyEventSchema),
    ongoing: Count,
  },
  closed,
);
export type CheckResponse = Static<typeof CheckResponse>;

/** The ceremony: who captures the baseline and why (both recorded in the event). */
export const BaselineRequest = Type.Object({ operator: Operator, reason: NonEmpty(512) }, closed);
export type BaselineRequest = Static<typeof BaselineRequest>;

export const BaselineResponse = Type.Object(
  {
    eventId: Text,
    capturedAt: Text,
    operator: Text,
    tensorHashes: Count,
    sentinels: Type.Array(Type.Object({ model: Digest, tokens: Count }, closed)),
    notLoaded: Type.Array(Digest),
    skipped: Type.Array(Type.Object({ model: Digest, reason: Text }, closed)),
    driver: Nullable(DriverSchema),
    devices: Type.Array(Text),
  },
  closed,
);
export type BaselineResponse = Static<typeof BaselineResponse>;

/** What the runtime attestor reads (the reference's `GPUAttestState`). */
export const AttestStateResponse = Type.Object(
  {
    host: Text,
    at: Nullable(Text),
    cycle: Count,
    verdict: VerdictOrUnknown,
    composite: Nullable(Score),
    probeStatuses: ProbeStatuses,
    probeScores: ProbeScores,
    driverVersion: Nullable(Text),
    deviceNodes: Nullable(Type.Array(Text)),
    trend: Trend,
    baselineEventId: Nullable(Text),
    policyDigest: Nullable(Digest),
  },
  closed,
);
export type AttestStateResponse = Static<typeof AttestStateResponse>;

/** The fastify `schema` of each route, by route. */
export const ROUTES = {
  health: {
    summary: 'liveness, whether cycles run (policy), the last cycle and the bus (no token)',
    security: [],
    response: { 200: HealthResponse, 503: HealthResponse, ...ERROR_RESPONSES },
  },
  status: {
    summary: 'the latest verdict, its probes and anomalies, the trend, the baseline, the policy',
    response: { 200: StatusResponse, ...ERROR_RESPONSES },
  },
  history: {
    summary: 'the last cycles (oldest first), at most `limit` (default 100, at most 200)',
    querystring: HistoryQuery,
    response: { 200: HistoryResponse, ...ERROR_RESPONSES },
  },
  check: {
    summary: 'a cycle now; answers when it is recorded (409 POLICY_UNAVAILABLE without a policy)',
    response: { 200: CheckResponse, ...ERROR_RESPONSES },
  },
  baseline: {
    summary: 'the baseline ceremony: capture and record a new baseline (gpu.baseline.captured)',
    body: BaselineRequest,
    response: { 201: BaselineResponse, ...ERROR_RESPONSES },
  },
  attestState: {
    summary: 'the GPU state for the runtime attestor',
    response: { 200: AttestStateResponse, ...ERROR_RESPONSES },
  },
} as const;
