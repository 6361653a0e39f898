import { Type, type Static } from '@sinclair/typebox';
import { Count, Digest, ModelFormat, catalogue } from '@secai/contracts';
import {
  BusHealthSchema,
  ERROR_RESPONSES,
  HealthStatusSchema,
  Nullable,
  problemResponse,
  problemWith,
} from '@secai/streams/http';

// The registry's HTTP contract (127.0.0.1:8470) as data: request and response schemas of every
// route, used by fastify to validate and serialise and by clients for their types.

export const MODEL_STATUSES = ['available', 'verification_failed', 'contained'] as const;
export const ModelStatusSchema = Type.Union(MODEL_STATUSES.map((s) => Type.Literal(s)));
export type ModelStatus = Static<typeof ModelStatusSchema>;

const Text = Type.String();

/** `:digest`: `sha256:<64 hex>` or `<64 hex>` (checked by the handler, to answer DIGEST_INVALID). */
export const DigestParams = Type.Object(
  { digest: Type.String({ maxLength: 80 }) },
  { additionalProperties: false },
);
export type DigestParams = Static<typeof DigestParams>;

export const ModelsQuery = Type.Object(
  { status: Type.Optional(ModelStatusSchema) },
  { additionalProperties: false },
);
export type ModelsQuery = Static<typeof ModelsQuery>;

/** A manifest entry with where its bytes are on this machine (absolute path). */
export const ModelViewSchema = Type.Object(
  {
    id: Type.String({ description: 'the digest hex' }),
    digest: Digest,
    name: Text,
    format: ModelFormat,
    sizeBytes: Count,
    storePath: Text,
    fromArtifact: Text,
    storedAt: Text,
    status: ModelStatusSchema,
    lastVerifiedAt: Nullable(Text),
    note: Nullable(Text),
    path: Text,
    runnable: Type.Boolean(),
  },
  { additionalProperties: false, title: 'ModelView' },
);
export type ModelView = Static<typeof ModelViewSchema>;

/** 200 `ok` while the bus is connected; 503 `degraded` while it is not. */
export const HealthResponse = Type.Object(
  { status: HealthStatusSchema, models: Count, manifestSeq: Count, bus: BusHealthSchema },
  { additionalProperties: false },
);
export type HealthResponse = Static<typeof HealthResponse>;

export const ModelsResponse = Type.Object(
  { models: Type.Array(ModelViewSchema), manifestSeq: Count },
  { additionalProperties: false },
);
export type ModelsResponse = Static<typeof ModelsResponse>;

export const ModelIntegrityResponse = Type.Object(
  {
    digest: Digest,
    sizeBytes: Count,
    storePath: Text,
    path: Text,
    status: ModelStatusSchema,
    runnable: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ModelIntegrityResponse = Static<typeof ModelIntegrityResponse>;

const verified = catalogue['model.verified'].schema.properties;
const failed = catalogue['model.verification.failed'].schema.properties;

export const VerifiedResponse = Type.Object(
  {
    status: Type.Literal('verified'),
    model: Type.String({ description: 'the digest hex' }),
    trigger: verified.trigger,
    expected: Digest,
    actual: Digest,
    sizeBytes: Count,
    problem: Type.Null(),
    safeToUse: Type.Literal(true),
    eventId: Nullable(Text),
  },
  { additionalProperties: false },
);
export type VerifiedResponse = Static<typeof VerifiedResponse>;

export const VerificationFailure = Type.Object(
  {
    status: Type.Literal('failed'),
    model: Type.String(),
    trigger: failed.trigger,
    expected: Digest,
    actual: Nullable(Digest),
    sizeBytes: Nullable(Count),
    expectedSizeBytes: Count,
    problem: failed.problem,
    safeToUse: Type.Literal(false),
    eventId: Nullable(Text),
  },
  { additionalProperties: false },
);
export type VerificationFailure = Static<typeof VerificationFailure>;

/** 409: the re-hash does not match; the recorded failure rides along. */
export const VerificationFailedProblem = problemWith(
  { verification: VerificationFailure },
  'VerificationFailedProblem',
);
export type VerificationFailedProblem = Static<typeof VerificationFailedProblem>;

export const IntegrityManifestResponse = Type.Object(
  {
    storeRoot: Text,
    containmentRoot: Text,
    manifestSeq: Count,
    models: Type.Array(
      Type.Object(
        {
          digest: Digest,
          name: Text,
          storePath: Text,
          path: Text,
          sizeBytes: Count,
          status: ModelStatusSchema,
          lastVerifiedAt: Nullable(Text),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type IntegrityManifestResponse = Static<typeof IntegrityManifestResponse>;

/** The fastify `schema` of each route, by route. */
export const ROUTES = {
  health: {
    summary: 'liveness, the manifest size and the bus (no token); 503 while the bus is down',
    security: [],
    response: { 200: HealthResponse, 503: HealthResponse, ...ERROR_RESPONSES },
  },
  models: {
    summary: 'the manifest, sorted by name',
    querystring: ModelsQuery,
    response: { 200: ModelsResponse, ...ERROR_RESPONSES },
  },
  model: {
    summary: 'one model',
    params: DigestParams,
    response: { 200: ModelViewSchema, ...ERROR_RESPONSES },
  },
  modelIntegrity: {
    summary: 'what the integrity monitor checks of one model',
    params: DigestParams,
    response: { 200: ModelIntegrityResponse, ...ERROR_RESPONSES },
  },
  verify: {
    summary: 're-hash one model now and record the outcome',
    params: DigestParams,
    response: {
      200: VerifiedResponse,
      409: problemResponse('the model does not match its digest', VerificationFailedProblem),
      ...ERROR_RESPONSES,
    },
  },
  integrityManifest: {
    summary: 'every model with its absolute path, for the integrity monitor',
    response: { 200: IntegrityManifestResponse, ...ERROR_RESPONSES },
  },
} as const;
