import { Type, type Static } from '@sinclair/typebox';
import { AttestationMode, Count, Nonce, catalogue } from '@secai/contracts';
import {
  BusHealthSchema,
  ERROR_RESPONSES,
  HealthStatusSchema,
  Nullable,
  problemResponse,
  ProblemSchema,
} from '@secai/streams/http';
import { REQUIREMENTS } from './policy.js';

// The runtime attestor's HTTP contract (127.0.0.1:8505) as data: request and response schemas of
// every route, used by fastify to validate and serialise and by clients for their types.

const Text = Type.String();
const closed = { additionalProperties: false } as const;
/** Signed documents (CloudEvent, DSSE envelope, runtime-state bundle) pass through as they are. */
const Verbatim = Type.Unknown({ description: 'passed through verbatim' });

export const OUTCOMES = ['verified', 'degraded', 'failed'] as const;
export const OutcomeSchema = Type.Union(OUTCOMES.map((o) => Type.Literal(o)));
const OutcomeOrPending = Type.Union([...OUTCOMES, 'pending' as const].map((o) => Type.Literal(o)));

/** 200 `ok` while the bus is connected; 503 `degraded` while it is not. */
export const HealthResponse = Type.Object(
  {
    status: HealthStatusSchema,
    mode: AttestationMode,
    outcome: OutcomeOrPending,
    lastEventId: Nullable(Text),
    bus: BusHealthSchema,
  },
  closed,
);
export type HealthResponse = Static<typeof HealthResponse>;

/** The boot gate: whether the latest attestation satisfies the policy and is fresh enough. */
export const VerifyResponse = Type.Object(
  {
    satisfied: Type.Boolean(),
    mode: AttestationMode,
    require: Type.Union(REQUIREMENTS.map((r) => Type.Literal(r))),
    lastEventId: Nullable(Text),
    outcome: OutcomeOrPending,
    attestedAt: Nullable(Text),
    reasons: Type.Array(Text),
  },
  closed,
);
export type VerifyResponse = Static<typeof VerifyResponse>;

export const StateResponse = Type.Object(
  {
    eventId: Text,
    seq: Count,
    type: Type.Union(OUTCOMES.map((o) => Type.Literal(`attestation.${o}` as const))),
    event: Verbatim,
    envelope: Verbatim,
    bundle: Verbatim,
  },
  closed,
);
export type StateResponse = Static<typeof StateResponse>;

export const EnrolmentResponse = Type.Object(
  {
    ...catalogue['attestation.enrolled'].schema.properties,
    akHandle: Nullable(Text),
    akPublicPem: Nullable(Text),
    tcti: Nullable(Text),
    enrolledAt: Text,
    eventId: Nullable(Text),
  },
  closed,
);
export type EnrolmentResponse = Static<typeof EnrolmentResponse>;

/** No body, `null`, or a reason and the caller's own nonce (hex). */
export const AttestBody = Nullable(
  Type.Object(
    {
      reason: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
      nonce: Type.Optional(Nonce),
    },
    closed,
  ),
);
export type AttestBody = Static<typeof AttestBody>;

export const AttestResponse = Type.Object(
  {
    outcome: OutcomeSchema,
    eventId: Text,
    seq: Count,
    mode: AttestationMode,
    nonce: Text,
    policySatisfied: Type.Boolean(),
    reasons: Type.Array(Text),
    event: Verbatim,
  },
  closed,
);
export type AttestResponse = Static<typeof AttestResponse>;

const busy = problemResponse(
  'the attestor is busy or stopping (ATTESTOR_BUSY, ATTESTOR_STOPPED)',
  ProblemSchema,
);

/** The fastify `schema` of each route, by route. */
export const ROUTES = {
  health: {
    summary: 'liveness, the latest outcome and the bus (no token); 503 while the bus is down',
    security: [],
    response: { 200: HealthResponse, 503: HealthResponse, ...ERROR_RESPONSES },
  },
  verify: {
    summary: 'the boot gate: does the latest attestation satisfy the policy',
    response: { 200: VerifyResponse, ...ERROR_RESPONSES },
  },
  state: {
    summary: 'the latest signed result with its event, envelope and runtime-state bundle',
    response: { 200: StateResponse, ...ERROR_RESPONSES },
  },
  enrolment: {
    summary: 'how this host is enrolled (mode, attestation key, PCR baseline)',
    response: { 200: EnrolmentResponse, ...ERROR_RESPONSES },
  },
  attest: {
    summary: 'attest now (with the caller’s nonce) and answer with the signed result',
    body: AttestBody,
    response: { 200: AttestResponse, 503: busy, ...ERROR_RESPONSES },
  },
} as const;
