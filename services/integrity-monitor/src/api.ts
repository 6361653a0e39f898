import { Type, type Static } from '@sinclair/typebox';
import { Count, IntegrityState, PathClass, Severity, ViolationKind } from '@secai/contracts';
import {
  BusHealthSchema,
  ERROR_RESPONSES,
  HealthStatusSchema,
  Nullable,
} from '@secai/streams/http';

// The integrity monitor's HTTP contract (127.0.0.1:8510) as data: request and response schemas
// of every route, used by fastify to validate and serialise and by clients for their types.

const Text = Type.String();
const closed = { additionalProperties: false } as const;

export const CHECK_TRIGGERS = ['startup', 'periodic', 'request', 'notification', 'grace'] as const;

/** One check (a full scan or a check of notified paths), as it ended. */
export const CheckSummarySchema = Type.Object(
  {
    trigger: Type.Union(CHECK_TRIGGERS.map((t) => Type.Literal(t))),
    scope: Type.Union([Type.Literal('full'), Type.Literal('paths')]),
    startedAt: Text,
    durationMs: Count,
    filesChecked: Count,
    bytesHashed: Count,
    violations: Count,
    reported: Count,
    state: IntegrityState,
  },
  { ...closed, title: 'CheckSummary' },
);
export type CheckSummaryView = Static<typeof CheckSummarySchema>;

export const ClassStatusSchema = Type.Object(
  {
    state: IntegrityState,
    violationCount: Count,
    severity: Severity,
    baseline: Nullable(
      Type.Object({ entriesDigest: Text, entryCount: Count, intact: Type.Boolean() }, closed),
    ),
    lastCheckAt: Nullable(Text),
  },
  closed,
);

/** A difference that holds now, with when it was first seen and whether an event records it. */
export const OpenViolationSchema = Type.Object(
  {
    pathClass: PathClass,
    path: Text,
    kind: ViolationKind,
    expected: Nullable(Text),
    actual: Nullable(Text),
    severity: Severity,
    firstSeenAt: Text,
    reported: Type.Boolean(),
  },
  { ...closed, title: 'OpenViolation' },
);
export type OpenViolationView = Static<typeof OpenViolationSchema>;

/**
 * 200 `ok` while the bus is connected, 503 `degraded` while it is not (`state` is the integrity
 * state of the watched paths, a different thing).
 */
export const HealthResponse = Type.Object(
  {
    status: HealthStatusSchema,
    state: IntegrityState,
    violationCount: Count,
    bus: BusHealthSchema,
  },
  closed,
);
export type HealthResponse = Static<typeof HealthResponse>;

export const StatusResponse = Type.Object(
  {
    state: IntegrityState,
    violationCount: Count,
    classes: Type.Object(
      {
        service_binary: ClassStatusSchema,
        policy_file: ClassStatusSchema,
        model_file: ClassStatusSchema,
        systemd_unit: ClassStatusSchema,
        trust_material: ClassStatusSchema,
      },
      closed,
    ),
    lastScan: Nullable(CheckSummarySchema),
    lastCheck: Nullable(CheckSummarySchema),
    scanCount: Count,
    checkCount: Count,
    modelsHashed: Count,
    watchedDirectories: Count,
    scanIntervalSeconds: Type.Number({ minimum: 0 }),
    configDigest: Text,
  },
  closed,
);
export type StatusResponse = Static<typeof StatusResponse>;

export const ViolationsQuery = Type.Object({ pathClass: Type.Optional(PathClass) }, closed);
export type ViolationsQuery = Static<typeof ViolationsQuery>;

export const ViolationsResponse = Type.Object(
  { violations: Type.Array(OpenViolationSchema), count: Count },
  closed,
);
export type ViolationsResponse = Static<typeof ViolationsResponse>;

/** The scan's summary, its open violations counted and listed. */
export const ScanResponse = Type.Object(
  {
    ...Type.Omit(CheckSummarySchema, ['violations']).properties,
    violationCount: Count,
    violations: Type.Array(OpenViolationSchema),
  },
  closed,
);
export type ScanResponse = Static<typeof ScanResponse>;

/** The fastify `schema` of each route, by route. */
export const ROUTES = {
  health: {
    summary: 'liveness, the overall state and the bus (no token); 503 while the bus is down',
    security: [],
    response: { 200: HealthResponse, 503: HealthResponse, ...ERROR_RESPONSES },
  },
  status: {
    summary: 'state, baselines and the last checks of every path class',
    response: { 200: StatusResponse, ...ERROR_RESPONSES },
  },
  violations: {
    summary: 'the differences that hold now, by class and path',
    querystring: ViolationsQuery,
    response: { 200: ViolationsResponse, ...ERROR_RESPONSES },
  },
  scan: {
    summary: 'a full scan now; answers when it is done',
    response: { 200: ScanResponse, ...ERROR_RESPONSES },
  },
} as const;
