import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from './define.js';
import {
  Count,
  Digest,
  EventId,
  Facts,
  GitRevision,
  NonEmpty,
  Operator,
  ReasonCode,
  Severity,
  Sha256Hex,
  SubjectToken,
  Text,
  closed,
} from './common.js';

// The model supply chain: an artifact is acquired, quarantined stage by stage, promoted or rejected
// (aggregate `artifact/<digest hex>`, emitted by quarantine); a promoted model is stored, verified,
// contained or removed by the registry (aggregate `model/<sha256 hex>`).

/** The quarantine stages, in the order a run executes them. */
export const QUARANTINE_STAGES = [
  'source_policy',
  'format_gate',
  'hash_pin',
  'provenance',
  'static_scan',
  'behavioral_test',
  'diffusion_scan',
] as const;
export const QuarantineStage = Type.Union(QUARANTINE_STAGES.map((s) => Type.Literal(s)));
export type QuarantineStageName = Static<typeof QuarantineStage>;

export const ArtifactKind = Type.Union([Type.Literal('file'), Type.Literal('directory')]);
export const ModelFormat = Type.Union([
  Type.Literal('gguf'),
  Type.Literal('safetensors'),
  Type.Literal('diffusion-directory'),
]);
/** How the bytes reached the inbox: CLI/UI import, a manual drop in the inbox, an airlock download. */
export const AcquisitionVia = Type.Union([
  Type.Literal('import'),
  Type.Literal('inbox'),
  Type.Literal('airlock'),
]);

/** A logical file or directory name: one path segment, not hidden, no control characters. */
export const LogicalName = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[^/\\\\\\x00-\\x1f\\x7f.][^/\\\\\\x00-\\x1f\\x7f]*$',
});
/** The human name of a model in the registry. */
export const ModelName = NonEmpty(512);
/** A path relative to the model store: segments as `LogicalName`, so no `.`/`..` and no escape. */
export const StorePath = Type.String({
  minLength: 1,
  maxLength: 4096,
  pattern:
    '^[^/\\\\\\x00-\\x1f\\x7f.][^/\\\\\\x00-\\x1f\\x7f]*(/[^/\\\\\\x00-\\x1f\\x7f.][^/\\\\\\x00-\\x1f\\x7f]*)*$',
});
/**
 * Where an artifact came from. No userinfo, query or fragment (where credentials hide): a source
 * sidecar carrying those is not copied into the event, and the source_policy stage refuses it.
 */
export const SourceUrl = Type.String({
  minLength: 1,
  maxLength: 4096,
  pattern: '^[a-z][a-z0-9+.-]*://[^\\s@?#\\x00-\\x1f\\x7f]+$',
});

/** What the sandbox around one stage worker looked like, as the coordinator observed it. */
export const StageIsolation = Type.Object(
  {
    /** The sandbox mechanism (`bubblewrap`, `namespaces`, `process`). */
    sandbox: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z][a-z0-9_-]*$' }),
    network: Type.Union([Type.Literal('none'), Type.Literal('loopback'), Type.Literal('host')]),
    credentialless: Type.Boolean(),
    readOnlyArtifact: Type.Boolean(),
    timeoutMs: Count,
    outputLimitBytes: Count,
    exitCode: Type.Union([Type.Integer(), Type.Null()]),
    signal: Type.Union([Type.String({ maxLength: 16 }), Type.Null()]),
    /** Escaped descendants the coordinator had to kill and reap after the stage ended. */
    reapedDescendants: Count,
  },
  closed,
);

/** Outcome of the behavioural test: counts only, never prompts or model output. */
export const BehavioralScore = Type.Object(
  {
    score: Type.Number({ minimum: 0, maximum: 1 }),
    flagged: Count,
    critical: Count,
    totalPrompts: Count,
  },
  closed,
);

export const ProvenanceLevel = Type.Union([
  Type.Literal('none'),
  Type.Literal('recorded'),
  Type.Literal('signature-verified'),
  Type.Literal('manifest-pinned'),
]);
export const PinStatus = Type.Union([
  Type.Literal('pinned'),
  Type.Literal('first_use'),
  Type.Literal('unpinned'),
  Type.Literal('mismatch'),
  Type.Literal('blocked'),
  Type.Literal('not_checked'),
]);

/** Who took a model out of service: an incident's containment, or an operator. */
export const RemovalCause = Type.Union([
  Type.Object({ kind: Type.Literal('incident'), incidentId: SubjectToken(64) }, closed),
  Type.Object({ kind: Type.Literal('operator'), operator: Operator }, closed),
]);

const stageSummary = Type.Object(
  {
    stage: QuarantineStage,
    passed: Type.Boolean(),
    reasonCode: ReasonCode,
    durationMs: Count,
  },
  closed,
);

export const supplyChainEvents = {
  'model.acquired': defineEvent(
    'model.acquired',
    'artifact',
    Type.Object(
      {
        kind: ArtifactKind,
        name: LogicalName,
        /** The human name given at import (`--name`); the registry shows `name` without it. */
        displayName: Type.Optional(ModelName),
        sizeBytes: Count,
        /** For a directory: the SecAI directory digest over its files. */
        digest: Digest,
        /** Directories only: number of regular files in the tree. */
        fileCount: Type.Optional(Count),
        source: Type.Object(
          {
            via: AcquisitionVia,
            url: Type.Optional(SourceUrl),
            revision: Type.Optional(GitRevision),
          },
          closed,
        ),
        /**
         * Who asked for an import: the service that signed the command and the person it names
         * (the UI names its logged-in operator). Absent for inbox drops and airlock downloads.
         */
        requestedBy: Type.Optional(
          Type.Object(
            {
              service: Type.String({ minLength: 1, maxLength: 64 }),
              operator: Type.Optional(Operator),
            },
            closed,
          ),
        ),
      },
      closed,
    ),
    'An artifact was claimed from the inbox and snapshotted; quarantine owns it from now on.',
  ),
  'quarantine.started': defineEvent(
    'quarantine.started',
    'artifact',
    Type.Object(
      {
        /** 1 for the first run; a re-run after a failed promotion counts up. */
        attempt: Type.Integer({ minimum: 1 }),
        /** Digest of the policy bundle (policy, locks, allowlist, rules) the run is bound to. */
        policyDigest: Digest,
        plannedStages: Type.Array(QuarantineStage, { minItems: 1, maxItems: 7, uniqueItems: true }),
      },
      closed,
    ),
    'A quarantine run started on a snapshotted artifact with the listed stages.',
  ),
  'quarantine.stage.passed': defineEvent(
    'quarantine.stage.passed',
    'artifact',
    Type.Object(
      {
        stage: QuarantineStage,
        reasonCode: ReasonCode,
        result: Facts,
        durationMs: Count,
        isolation: StageIsolation,
      },
      closed,
    ),
    'One quarantine stage passed in its sandboxed worker.',
  ),
  'quarantine.stage.failed': defineEvent(
    'quarantine.stage.failed',
    'artifact',
    Type.Object(
      {
        stage: QuarantineStage,
        reasonCode: ReasonCode,
        /** Human reason, redacted: never raw scanner output or model text. */
        reason: NonEmpty(512),
        /** The kind of failure when the worker itself broke (`timeout`, `output_limit`). */
        failureClass: Type.Optional(ReasonCode),
        result: Facts,
        durationMs: Count,
        isolation: StageIsolation,
      },
      closed,
    ),
    'One quarantine stage failed; the run stops here.',
  ),
  'quarantine.completed': defineEvent(
    'quarantine.completed',
    'artifact',
    Type.Object(
      {
        passed: Type.Boolean(),
        reasonCode: ReasonCode,
        /** What the format gate identified; null when it did not get that far. */
        format: Type.Union([ModelFormat, Type.Null()]),
        sizeBytes: Count,
        /** Who signed it, when provenance verified a signature. */
        signer: Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()]),
        failedStage: Type.Union([QuarantineStage, Type.Null()]),
        stages: Type.Array(stageSummary, { maxItems: 7 }),
        /** Null when the behavioural test did not run (not applicable, or an earlier stage failed). */
        behavioralScore: Type.Union([BehavioralScore, Type.Null()]),
        provenance: ProvenanceLevel,
        pin: PinStatus,
        policyDigest: Digest,
        durationMs: Count,
      },
      closed,
    ),
    'A quarantine run finished; the promotion decision comes next.',
  ),
  'model.promoted': defineEvent(
    'model.promoted',
    'artifact',
    Type.Object(
      {
        /** The `policy.decided` event (domain model_promotion) that allowed it. */
        decisionId: EventId,
        name: ModelName,
        fileName: LogicalName,
        format: ModelFormat,
        digest: Digest,
        sizeBytes: Count,
        policyDigest: Digest,
      },
      closed,
    ),
    'The artifact passed quarantine and the promotion decision; the registry may store it.',
  ),
  'model.rejected': defineEvent(
    'model.rejected',
    'artifact',
    Type.Object(
      {
        /** The `policy.decided` event that denied it; null when a stage rejected it first. */
        decisionId: Type.Union([EventId, Type.Null()]),
        name: LogicalName,
        /** The stage that rejected it; null when the promotion decision or the claim did. */
        stage: Type.Union([QuarantineStage, Type.Null()]),
        reasonCode: ReasonCode,
        reason: NonEmpty(512),
      },
      closed,
    ),
    'The artifact was rejected and its bytes deleted.',
  ),
  'model.stored': defineEvent(
    'model.stored',
    'model',
    Type.Object(
      {
        name: ModelName,
        format: ModelFormat,
        sizeBytes: Count,
        digest: Digest,
        storePath: StorePath,
        /** The artifact aggregate (its digest hex) this model was promoted from. */
        fromArtifact: Sha256Hex,
      },
      closed,
    ),
    'The registry re-hashed the promoted artifact and committed it to the read-only store.',
  ),
  'model.verified': defineEvent(
    'model.verified',
    'model',
    Type.Object(
      {
        trigger: Type.Union([
          Type.Literal('request'),
          Type.Literal('pre_load'),
          Type.Literal('periodic'),
        ]),
        expected: Digest,
        actual: Digest,
        sizeBytes: Count,
      },
      closed,
    ),
    'The stored model was re-hashed and matches its digest.',
  ),
  'model.verification.failed': defineEvent(
    'model.verification.failed',
    'model',
    Type.Object(
      {
        trigger: Type.Union([
          Type.Literal('request'),
          Type.Literal('pre_load'),
          Type.Literal('periodic'),
        ]),
        problem: Type.Union([
          Type.Literal('mismatch'),
          Type.Literal('size_mismatch'),
          Type.Literal('missing'),
          Type.Literal('unreadable'),
        ]),
        expected: Digest,
        /** Null when the file could not be hashed at all. */
        actual: Type.Union([Digest, Type.Null()]),
        expectedSizeBytes: Count,
        actualSizeBytes: Type.Union([Count, Type.Null()]),
      },
      closed,
    ),
    'The stored model no longer matches its digest.',
  ),
  'model.contained': defineEvent(
    'model.contained',
    'model',
    Type.Object(
      {
        name: ModelName,
        cause: RemovalCause,
        reason: NonEmpty(512),
        /** Where the bytes were moved, relative to the containment store. */
        containedPath: StorePath,
      },
      closed,
    ),
    'The model was moved out of the serving store into containment.',
  ),
  'model.removed': defineEvent(
    'model.removed',
    'model',
    Type.Object(
      {
        name: ModelName,
        cause: RemovalCause,
        reason: NonEmpty(512),
      },
      closed,
    ),
    'The model was deleted from the registry.',
  ),
  'model.behavior.anomaly': defineEvent(
    'model.behavior.anomaly',
    'model',
    Type.Object(
      {
        kind: ReasonCode,
        severity: Severity,
        /** What was seen, as a redacted excerpt: never the prompt or the full output. */
        detail: Text(1024),
        sessionId: Type.Optional(SubjectToken(128)),
        /** Digest of the output that triggered it, so it can be matched without being stored. */
        observationDigest: Type.Optional(Digest),
      },
      closed,
    ),
    'Inference observed a served model behaving outside its expected envelope.',
  ),
} as const;
