import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from './define.js';
import {
  AbsolutePath,
  AggregateRef,
  Count,
  Digest,
  EventId,
  NonEmpty,
  Nonce,
  Operator,
  ServiceNameSchema,
  Severity,
  Sha256Hex,
  SubjectToken,
  Text,
  closed,
} from './common.js';

// Continuous verification and its consequences: attestations (aggregate `attestation/<host>`),
// file integrity per path class (`integrity/<pathClass>`), and incidents (`incident/<id>`).

/** The nine incident classes, each with its own default severity and containment in policy. */
export const INCIDENT_CLASSES = [
  'attestation_failure',
  'policy_bypass_attempt',
  'manifest_mismatch',
  'forbidden_airlock_request',
  'prompt_injection',
  'tool_call_burst',
  'model_behavior_anomaly',
  'integrity_violation',
  'unauthorized_access',
  /** One identity floods the bus with envelopes every consumer refuses. */
  'bus_abuse',
] as const;
export const IncidentClass = Type.Union(INCIDENT_CLASSES.map((c) => Type.Literal(c)));
export type IncidentClassName = Static<typeof IncidentClass>;

/** Lowest first, so the index orders them. */
export const INCIDENT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const IncidentSeverity = Severity;
export type IncidentSeverityName = Static<typeof IncidentSeverity>;

export const CONTAINMENT_ACTIONS = [
  'freeze_agent',
  'disable_airlock',
  'force_vault_relock',
  'quarantine_model',
  /** Revoke the offending identity: its certificate and, at once, its NATS user. */
  'revoke_identity',
  'log_alert',
] as const;
export const ContainmentAction = Type.Union(CONTAINMENT_ACTIONS.map((a) => Type.Literal(a)));
export type ContainmentActionName = Static<typeof ContainmentAction>;

/** Incident ids are aggregate ids, hence one subject token. */
export const IncidentId = SubjectToken(64);
/** The attested host, as one subject token (a hostname with dots is spelled with `-`). */
export const HostId = SubjectToken(64);

export const AttestationMode = Type.Union([
  Type.Literal('hardware'),
  Type.Literal('evaluation'),
  Type.Literal('software'),
]);
/** `<bank>:<pcr>,<pcr>...`, e.g. `sha256:0,2,4,7`. */
export const PcrSelection = Type.String({
  maxLength: 128,
  pattern: '^(sha1|sha256|sha384|sha512):([0-9]|1[0-9]|2[0-3])(,([0-9]|1[0-9]|2[0-3]))*$',
});
export const PcrValue = Type.Object(
  { index: Type.Integer({ minimum: 0, maximum: 23 }), value: Sha256Hex },
  closed,
);

export const PATH_CLASSES = [
  'service_binary',
  'policy_file',
  'systemd_unit',
  'trust_material',
  'model_file',
] as const;
export const PathClass = Type.Union(PATH_CLASSES.map((p) => Type.Literal(p)));
export const IntegrityState = Type.Union([
  Type.Literal('ok'),
  Type.Literal('degraded'),
  Type.Literal('recovery_required'),
]);
export const ViolationKind = Type.Union([
  Type.Literal('modified'),
  Type.Literal('deleted'),
  Type.Literal('added'),
  Type.Literal('mode'),
  Type.Literal('owner'),
  Type.Literal('link'),
]);
/**
 * One observed property of a file: a content digest (`sha256:…`), a mode (`0644`), an owner
 * (`root:root`) or a link target. Null when there is nothing (a deleted or an added file).
 */
export const FileFact = Type.Union([
  Type.String({ maxLength: 512, pattern: '^[^\\x00-\\x1f\\x7f]*$' }),
  Type.Null(),
]);

const attestationResult = {
  host: HostId,
  mode: AttestationMode,
  nonce: Nonce,
  /** The service that asked with its own nonce; null for the periodic refresh. */
  requestedBy: Type.Union([ServiceNameSchema, Type.Null()]),
  /** Digest of the TPM quote message; null when no quote was taken. */
  quoteDigest: Type.Union([Digest, Type.Null()]),
  /** Digest of the quoted PCR values; null when no quote was taken. */
  pcrDigest: Type.Union([Digest, Type.Null()]),
  deploymentDigest: Type.Union([Digest, Type.Null()]),
  /** Digest of the full runtime-state bundle the attestor signed and kept. */
  bundleDigest: Digest,
  checks: Type.Object(
    {
      secureBoot: Type.Boolean(),
      tpmAvailable: Type.Boolean(),
      quoteVerified: Type.Boolean(),
      measurementsVerified: Type.Boolean(),
      deploymentVerified: Type.Boolean(),
      releaseBaselineVerified: Type.Boolean(),
    },
    closed,
  ),
  /** Hardware evidence fully verified (only possible in `hardware` mode). */
  evidenceVerified: Type.Boolean(),
  /** Good enough for the boot gate under the current policy. */
  policySatisfied: Type.Boolean(),
};
const attestationReasons = Type.Array(NonEmpty(512), { minItems: 1, maxItems: 32 });

const baselineFields = {
  pathClass: PathClass,
  entryCount: Count,
  /** Digest over the sorted baseline entries (path, digest, size). */
  entriesDigest: Digest,
};

const ceremony = Type.Object(
  {
    /** Digest binding the incident's class, severity and containment results. */
    binding: Digest,
    reattestRequired: Type.Boolean(),
    /** The `attestation.verified` event that satisfied re-attestation; null until there is one. */
    attestationEventId: Type.Union([EventId, Type.Null()]),
  },
  closed,
);

export const enforcementEvents = {
  'attestation.enrolled': defineEvent(
    'attestation.enrolled',
    'attestation',
    Type.Object(
      {
        host: HostId,
        mode: AttestationMode,
        /** Digest of the attestation key's public PEM; null outside hardware mode. */
        akDigest: Type.Union([Digest, Type.Null()]),
        pcrSelection: Type.Union([PcrSelection, Type.Null()]),
        pcrBaseline: Type.Array(PcrValue, { maxItems: 24 }),
        quotedPcrDigest: Type.Union([Digest, Type.Null()]),
        deploymentDigest: Type.Union([Digest, Type.Null()]),
      },
      closed,
    ),
    'The host was enrolled for attestation: mode, attestation key and PCR baseline.',
  ),
  'attestation.development_mode.declared': defineEvent(
    'attestation.development_mode.declared',
    'attestation',
    Type.Object(
      {
        host: HostId,
        /** Development mode is software mode by definition: no TPM, nothing measured. */
        mode: Type.Literal('software'),
        /** The attestation policy's `require` at the declaration (what the runs will say). */
        require: Type.Union([
          Type.Literal('none'),
          Type.Literal('evaluation'),
          Type.Literal('hardware'),
        ]),
        /** Digest of the attestation policy in force. */
        policyDigest: Digest,
        /** What it means, in one plain sentence for the people reading the history. */
        detail: NonEmpty(512),
      },
      closed,
    ),
    'The attestor started on a host with no TPM and no TPM enrolment: the appliance runs unattested, in development mode, by choice (one event per start).',
  ),
  'attestation.verified': defineEvent(
    'attestation.verified',
    'attestation',
    Type.Object(attestationResult, closed),
    'An attestation run found no failures.',
  ),
  'attestation.degraded': defineEvent(
    'attestation.degraded',
    'attestation',
    Type.Object({ ...attestationResult, reasons: attestationReasons }, closed),
    'An attestation run found failures that policy does not treat as fatal.',
  ),
  'attestation.failed': defineEvent(
    'attestation.failed',
    'attestation',
    Type.Object({ ...attestationResult, reasons: attestationReasons }, closed),
    'An attestation run failed a requirement of policy (TPM, quote, measurements, secure boot).',
  ),
  'integrity.baseline.created': defineEvent(
    'integrity.baseline.created',
    'integrity',
    Type.Object(
      {
        ...baselineFields,
        /** Every entry matched the release baseline shipped with the image. */
        releaseVerified: Type.Boolean(),
      },
      closed,
    ),
    'The first trusted baseline of a path class was recorded.',
  ),
  'integrity.rebaselined': defineEvent(
    'integrity.rebaselined',
    'integrity',
    Type.Object(
      {
        ...baselineFields,
        previousEntriesDigest: Digest,
        operator: Operator,
        reason: NonEmpty(512),
        acceptedCount: Count,
        /** The differences the operator accepted (the first 256 when there are more). */
        accepted: Type.Array(
          Type.Object(
            { path: AbsolutePath, kind: ViolationKind, expected: FileFact, actual: FileFact },
            closed,
          ),
          { maxItems: 256 },
        ),
      },
      closed,
    ),
    'An operator replaced the baseline of a path class, accepting the listed differences.',
  ),
  'integrity.violation.detected': defineEvent(
    'integrity.violation.detected',
    'integrity',
    Type.Object(
      {
        pathClass: PathClass,
        path: AbsolutePath,
        kind: ViolationKind,
        expected: FileFact,
        actual: FileFact,
        severity: Severity,
      },
      closed,
    ),
    'A scan found a file that differs from the baseline.',
  ),
  'integrity.state.changed': defineEvent(
    'integrity.state.changed',
    'integrity',
    Type.Object(
      {
        pathClass: PathClass,
        from: IntegrityState,
        to: IntegrityState,
        violationCount: Count,
      },
      closed,
    ),
    'The integrity state of a path class changed.',
  ),
  'incident.opened': defineEvent(
    'incident.opened',
    'incident',
    Type.Object(
      {
        incidentId: IncidentId,
        class: IncidentClass,
        severity: IncidentSeverity,
        /** The aggregate the incident is about (`model/<sha256>`, `attestation/<host>`). */
        subject: AggregateRef,
        /** The service whose observation caused it. */
        reportedBy: ServiceNameSchema,
        causeEventIds: Type.Array(EventId, { minItems: 1, maxItems: 32, uniqueItems: true }),
        description: NonEmpty(1024),
      },
      closed,
    ),
    'An incident was opened from one or more observations.',
  ),
  'incident.observation.attached': defineEvent(
    'incident.observation.attached',
    'incident',
    Type.Object(
      {
        incidentId: IncidentId,
        causeEventId: EventId,
        /** Observations attached so far, the opening ones included. */
        count: Type.Integer({ minimum: 1 }),
      },
      closed,
    ),
    'A further observation was correlated to an open incident instead of opening a new one.',
  ),
  'incident.escalated': defineEvent(
    'incident.escalated',
    'incident',
    Type.Object(
      {
        incidentId: IncidentId,
        from: IncidentSeverity,
        to: IncidentSeverity,
        rule: Type.Object(
          {
            id: NonEmpty(128),
            threshold: Type.Integer({ minimum: 1 }),
            windowSeconds: Type.Integer({ minimum: 1 }),
          },
          closed,
        ),
        observationCount: Count,
      },
      closed,
    ),
    'An escalation rule raised the severity of an incident.',
  ),
  'incident.containment.requested': defineEvent(
    'incident.containment.requested',
    'incident',
    Type.Object(
      {
        incidentId: IncidentId,
        /** In execution order; the target is an aggregate (`agent/state`, `model/<sha256>`...). */
        actions: Type.Array(
          Type.Object({ action: ContainmentAction, target: AggregateRef }, closed),
          { minItems: 1, maxItems: 16 },
        ),
      },
      closed,
    ),
    'The incident recorder asked for containment actions.',
  ),
  'incident.containment.action.completed': defineEvent(
    'incident.containment.action.completed',
    'incident',
    Type.Object(
      {
        incidentId: IncidentId,
        action: ContainmentAction,
        target: AggregateRef,
        ok: Type.Boolean(),
        /** What the target answered, redacted. */
        detail: Text(512),
        durationMs: Count,
      },
      closed,
    ),
    'One containment action finished, successfully or not.',
  ),
  'incident.contained': defineEvent(
    'incident.contained',
    'incident',
    Type.Object(
      {
        incidentId: IncidentId,
        actions: Type.Array(ContainmentAction, { maxItems: 16 }),
      },
      closed,
    ),
    'Every requested containment action succeeded.',
  ),
  'incident.containment.failed': defineEvent(
    'incident.containment.failed',
    'incident',
    Type.Object(
      {
        incidentId: IncidentId,
        failed: Type.Array(
          Type.Object(
            { action: ContainmentAction, target: AggregateRef, detail: Text(512) },
            closed,
          ),
          { minItems: 1, maxItems: 16 },
        ),
        succeeded: Type.Array(ContainmentAction, { maxItems: 16 }),
      },
      closed,
    ),
    'At least one containment action failed.',
  ),
  'incident.acknowledged': defineEvent(
    'incident.acknowledged',
    'incident',
    Type.Object({ incidentId: IncidentId, operator: Operator, note: Text(1024), ceremony }, closed),
    'An operator acknowledged the incident; its recovery ceremony allowed the release.',
  ),
  'incident.resolved': defineEvent(
    'incident.resolved',
    'incident',
    Type.Object({ incidentId: IncidentId, operator: Operator, note: Text(1024), ceremony }, closed),
    'An operator resolved the incident once its recovery ceremony was complete.',
  ),
} as const;
