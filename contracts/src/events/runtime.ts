import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from './define.js';
import {
  Count,
  Digest,
  NonEmpty,
  Operator,
  Severity,
  SubjectToken,
  Text,
  closed,
} from './common.js';
import { HostId } from './enforcement.js';
import { ModelName } from './supplyChain.js';

// The runtime zone: inference sessions and requests (aggregate `inference/<sessionId>`), the API
// keys a person's own client uses (`inference-key/<keyId>`), the models inference has loaded
// (`inference-model/<digest hex>`), and the GPU integrity watch (`gpu/<host>`).
// Prompts and answers never appear: their SHA-256 and lengths only.

/** Where inference ran: `cpu`, or the GPU backend node-llama-cpp loaded. */
export const INFERENCE_BACKENDS = ['cpu', 'cuda', 'vulkan', 'metal'] as const;
export const InferenceBackend = Type.Union(INFERENCE_BACKENDS.map((b) => Type.Literal(b)));
export type InferenceBackendName = Static<typeof InferenceBackend>;

/** Who called: an appliance service (`service:<name>`) or a person's API key (`key:<name>`). */
export const InferenceCaller = Type.String({
  minLength: 5,
  maxLength: 80,
  pattern: '^(service|key):[a-z0-9][a-z0-9_.-]*$',
});

export const InferenceEndpoint = Type.Union([
  Type.Literal('chat'),
  Type.Literal('completion'),
  Type.Literal('embedding'),
]);

/** OpenAI's finish reasons, and `contained` when the model was taken away mid-answer. */
export const FinishReason = Type.Union([
  Type.Literal('stop'),
  Type.Literal('length'),
  Type.Literal('tool_calls'),
  Type.Literal('contained'),
  Type.Literal('aborted'),
]);

export const SessionMode = Type.Union([Type.Literal('standard'), Type.Literal('sensitive')]);

/** A text's fingerprint: enough to match it later, never the text. */
export const TextDigest = Type.Object({ digest: Digest, length: Count }, closed);

export const GPU_VERDICTS = ['healthy', 'warning', 'critical'] as const;
export const GpuVerdict = Type.Union(GPU_VERDICTS.map((v) => Type.Literal(v)));
export const PROBE_STATUSES = ['pass', 'drift', 'fail', 'skip', 'error'] as const;
export const ProbeStatus = Type.Union(PROBE_STATUSES.map((s) => Type.Literal(s)));
export const GPU_PROBES = [
  'tensor_hash',
  'sentinel_inference',
  'reference_drift',
  'ecc_status',
  'driver_fingerprint',
  'device_allowlist',
] as const;
export const GpuProbe = Type.Union(GPU_PROBES.map((p) => Type.Literal(p)));
export type GpuProbeName = Static<typeof GpuProbe>;

export const ProbeFinding = Type.Object(
  {
    description: NonEmpty(256),
    severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
    detail: Type.Optional(Text(512)),
  },
  closed,
);

export const ProbeResult = Type.Object(
  {
    probe: GpuProbe,
    status: ProbeStatus,
    score: Type.Number({ minimum: 0, maximum: 1 }),
    findings: Type.Array(ProbeFinding, { maxItems: 32 }),
    durationMs: Count,
  },
  closed,
);

/** What a sentinel prompt produced under greedy decoding with a fixed seed. */
export const SentinelReference = Type.Object(
  {
    model: Digest,
    name: NonEmpty(64),
    prompt: TextDigest,
    /** The token ids the model produced: numbers, never text. */
    tokens: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 256 }),
    output: TextDigest,
  },
  closed,
);

export const runtimeEvents = {
  'inference.model.loaded': defineEvent(
    'inference.model.loaded',
    'inference-model',
    Type.Object(
      {
        model: Digest,
        name: ModelName,
        backend: InferenceBackend,
        threads: Type.Integer({ minimum: 1, maximum: 512 }),
        contextSize: Type.Integer({ minimum: 1 }),
        /** The file was re-hashed through the descriptor that was then loaded. */
        verifiedBytes: Count,
        loadMs: Count,
      },
      closed,
    ),
    'Inference re-hashed a trusted model against its stored digest and loaded it.',
  ),
  'inference.model.unloaded': defineEvent(
    'inference.model.unloaded',
    'inference-model',
    Type.Object(
      {
        model: Digest,
        reason: Type.Union([
          Type.Literal('contained'),
          Type.Literal('removed'),
          Type.Literal('verification_failed'),
          Type.Literal('idle'),
          Type.Literal('shutdown'),
        ]),
        /** The registry event that caused the unload, when one did. */
        causeEventId: Type.Optional(NonEmpty(64)),
        /** Requests that were still answering and were ended. */
        endedRequests: Count,
        closedSessions: Count,
      },
      closed,
    ),
    'Inference unloaded a model; requests in flight on it were ended.',
  ),
  'inference.model.refused': defineEvent(
    'inference.model.refused',
    'inference-model',
    Type.Object(
      {
        model: Digest,
        problem: Type.Union([
          Type.Literal('mismatch'),
          Type.Literal('size_mismatch'),
          Type.Literal('missing'),
          Type.Literal('unreadable'),
          Type.Literal('not_a_regular_file'),
        ]),
        expected: Digest,
        actual: Type.Union([Digest, Type.Null()]),
      },
      closed,
    ),
    'The bytes inference was about to load did not match the stored digest; nothing was loaded.',
  ),
  'inference.session.opened': defineEvent(
    'inference.session.opened',
    'inference',
    Type.Object(
      {
        model: Digest,
        caller: InferenceCaller,
        mode: SessionMode,
        backend: InferenceBackend,
        contextSize: Type.Integer({ minimum: 1 }),
        /** A session a client named (`X-Secai-Session`) or one opened for a single request. */
        ephemeral: Type.Boolean(),
      },
      closed,
    ),
    'A conversation got its own context sequence.',
  ),
  'inference.session.closed': defineEvent(
    'inference.session.closed',
    'inference',
    Type.Object(
      {
        model: Digest,
        caller: InferenceCaller,
        reason: Type.Union([
          Type.Literal('client'),
          Type.Literal('idle'),
          Type.Literal('request_done'),
          Type.Literal('model_unloaded'),
          Type.Literal('shutdown'),
        ]),
        requests: Count,
        durationMs: Count,
        /** Sensitive sessions dispose their context; standard ones clear the sequence for reuse. */
        contextDisposed: Type.Boolean(),
      },
      closed,
    ),
    'A conversation ended and its context sequence was cleared or disposed.',
  ),
  'inference.request.completed': defineEvent(
    'inference.request.completed',
    'inference',
    Type.Object(
      {
        requestId: SubjectToken(64),
        model: Digest,
        caller: InferenceCaller,
        endpoint: InferenceEndpoint,
        backend: InferenceBackend,
        stream: Type.Boolean(),
        promptTokens: Count,
        completionTokens: Count,
        timeToFirstTokenMs: Type.Union([Count, Type.Null()]),
        durationMs: Count,
        finishReason: FinishReason,
        /** Names of the functions the model asked to call; the service never calls them. */
        toolCalls: Type.Array(NonEmpty(64), { maxItems: 32 }),
        prompt: TextDigest,
        answer: TextDigest,
      },
      closed,
    ),
    'A request was answered (or ended early, with the reason).',
  ),
  'inference.request.failed': defineEvent(
    'inference.request.failed',
    'inference',
    Type.Object(
      {
        requestId: SubjectToken(64),
        model: Type.Union([Digest, Type.Null()]),
        caller: InferenceCaller,
        endpoint: InferenceEndpoint,
        /** The problem code the caller got (`MODEL_CONTAINED`, `TIMEOUT`, `GENERATION_FAILED`). */
        code: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$', maxLength: 64 }),
        status: Type.Integer({ minimum: 400, maximum: 599 }),
        durationMs: Count,
        prompt: Type.Union([TextDigest, Type.Null()]),
      },
      closed,
    ),
    'A request that reached a model ended in an error.',
  ),
  'inference.key.created': defineEvent(
    'inference.key.created',
    'inference-key',
    Type.Object(
      {
        name: SubjectToken(64),
        /** SHA-256 of the key: the key itself is shown once to its creator and never stored. */
        keyDigest: Digest,
        /** The key's first characters, so a person can tell their keys apart. */
        hint: Type.String({ pattern: '^[A-Za-z0-9_-]{4,16}$', maxLength: 16 }),
        createdBy: Operator,
      },
      closed,
    ),
    'An API key for a person’s own OpenAI client was made.',
  ),
  'inference.key.revoked': defineEvent(
    'inference.key.revoked',
    'inference-key',
    Type.Object({ name: SubjectToken(64), revokedBy: Operator, reason: Text(256) }, closed),
    'An API key was revoked: requests with it are refused from now on.',
  ),

  'gpu.baseline.captured': defineEvent(
    'gpu.baseline.captured',
    'gpu',
    Type.Object(
      {
        host: HostId,
        operator: Operator,
        reason: NonEmpty(512),
        /** Model files by store path (relative) and digest. */
        tensorHashes: Type.Array(Type.Object({ path: NonEmpty(512), digest: Digest }, closed), {
          maxItems: 1024,
        }),
        sentinels: Type.Array(SentinelReference, { maxItems: 64 }),
        driver: Type.Union([
          Type.Object(
            {
              version: NonEmpty(128),
              module: NonEmpty(64),
              moduleDigest: Type.Union([Digest, Type.Null()]),
            },
            closed,
          ),
          Type.Null(),
        ]),
        devices: Type.Array(NonEmpty(128), { maxItems: 256 }),
      },
      closed,
    ),
    'The GPU and model baseline was captured (an operator ceremony, or first load of a model).',
  ),
  'gpu.probe.completed': defineEvent(
    'gpu.probe.completed',
    'gpu',
    Type.Object(
      {
        host: HostId,
        cycle: Count,
        probes: Type.Array(ProbeResult, { maxItems: 16 }),
        composite: Type.Number({ minimum: 0, maximum: 1 }),
        verdict: GpuVerdict,
      },
      closed,
    ),
    'One GPU integrity cycle ran: each probe, the weighted score and the verdict.',
  ),
  'gpu.anomaly.detected': defineEvent(
    'gpu.anomaly.detected',
    'gpu',
    Type.Object(
      {
        host: HostId,
        cycle: Count,
        verdict: Type.Union([Type.Literal('warning'), Type.Literal('critical')]),
        composite: Type.Number({ minimum: 0, maximum: 1 }),
        /** Which incident class the watch reads it as; the recorder decides. */
        kind: Type.Union([
          Type.Literal('model_drift'),
          Type.Literal('model_file_changed'),
          Type.Literal('hardware_fault'),
          Type.Literal('driver_changed'),
          Type.Literal('device_unexpected'),
        ]),
        severity: Severity,
        /** The model the anomaly is about, when one is. */
        model: Type.Union([Digest, Type.Null()]),
        failedProbes: Type.Array(GpuProbe, { maxItems: 16 }),
        summary: NonEmpty(1024),
      },
      closed,
    ),
    'A GPU integrity cycle ended in warning or critical.',
  ),
} as const;

export type InferenceCallerId = Static<typeof InferenceCaller>;
export type ProbeResultData = Static<typeof ProbeResult>;
export type SentinelReferenceData = Static<typeof SentinelReference>;
