import { Type, type Static } from '@sinclair/typebox';
import {
  ContainmentAction,
  INCIDENT_CLASSES,
  IncidentClass,
  IncidentSeverity,
  PolicyDomain,
  ServiceNameSchema,
  type ContainmentActionName,
  type RemoteContainmentAction,
  type IncidentClassName,
  type IncidentSeverityName,
} from '@secai/contracts';

// `<policy dir>/incidents.yaml`, as data. Every object is closed: an unknown key refuses the
// whole file, never silently ignored. Keys are snake_case like the policy engine's files; the
// loader turns the document into the camelCase `IncidentPolicy` the rules read.

const closed = { additionalProperties: false } as const;
const RuleId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-z][a-z0-9_.-]*$' });
const Seconds = Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600 });
const Threshold = Type.Integer({ minimum: 1, maximum: 100_000 });
const TimeoutMs = Type.Integer({ minimum: 100, maximum: 600_000 });

const ClassRuleSchema = Type.Object(
  {
    severity: IncidentSeverity,
    auto_contain: Type.Boolean(),
    /** Stays degraded until the recovery ceremony: re-attestation is required to resolve. */
    latched: Type.Boolean(),
    actions: Type.Array(ContainmentAction, { maxItems: 5, uniqueItems: true }),
  },
  closed,
);

const ObservationRuleSchema = Type.Union([
  Type.Object({ class: IncidentClass, severity: Type.Optional(IncidentSeverity) }, closed),
  Type.Null(),
]);

/**
 * The GPU integrity watch's anomalies (`gpu.anomaly.detected`, by its `kind`). Optional in the
 * file, like `refusal_flood`: a policy copied before they existed gets the shipped rules
 * (`DEFAULT_GPU_OBSERVATIONS`) instead of refusing to start.
 */
export const GPU_OBSERVATION_KINDS = [
  'gpu_model_drift',
  'gpu_model_file_changed',
  'gpu_hardware_fault',
  'gpu_driver_changed',
  'gpu_device_unexpected',
] as const;
export type GpuObservationKind = (typeof GPU_OBSERVATION_KINDS)[number];

/** What each kind of observation becomes (null: not an incident). */
export const OBSERVATION_KINDS = [
  'integrity_violation',
  'model_file_violation',
  'attestation_failed',
  'attestation_degraded',
  'envelope_rejected',
  'model_verification_failed',
  'model_behavior_anomaly',
  ...GPU_OBSERVATION_KINDS,
] as const;
export type ObservationKind = (typeof OBSERVATION_KINDS)[number];

const isGpuKind = (k: string): k is GpuObservationKind =>
  (GPU_OBSERVATION_KINDS as readonly string[]).includes(k);

export const IncidentPolicySchema = Type.Object(
  {
    version: Type.Literal(1),
    classes: Type.Object(
      Object.fromEntries(INCIDENT_CLASSES.map((c) => [c, ClassRuleSchema])) as Record<
        IncidentClassName,
        typeof ClassRuleSchema
      >,
      closed,
    ),
    observations: Type.Object(
      Object.fromEntries(
        OBSERVATION_KINDS.map((k) => [
          k,
          isGpuKind(k) ? Type.Optional(ObservationRuleSchema) : ObservationRuleSchema,
        ]),
      ) as Record<ObservationKind, typeof ObservationRuleSchema>,
      closed,
    ),
    deny_bursts: Type.Array(
      Type.Object(
        {
          id: RuleId,
          class: IncidentClass,
          domains: Type.Array(PolicyDomain, { minItems: 1, maxItems: 16, uniqueItems: true }),
          threshold: Threshold,
          window_seconds: Seconds,
          /** Count denials of one caller for one subject (a retried refusal) instead of all. */
          same_subject: Type.Boolean(),
          exclude_callers: Type.Optional(
            Type.Array(ServiceNameSchema, { maxItems: 32, uniqueItems: true }),
          ),
        },
        closed,
      ),
      { maxItems: 32 },
    ),
    escalation: Type.Array(
      Type.Object(
        {
          id: RuleId,
          class: IncidentClass,
          threshold: Threshold,
          window_seconds: Seconds,
          to: IncidentSeverity,
        },
        closed,
      ),
      { maxItems: 64 },
    ),
    /**
     * Refusal floods: `threshold` envelopes refused by the recorder within `window_seconds`, all
     * stored on subjects of one identity, open an incident of `class` about `identity/<name>`.
     * Optional so that a policy copied before it existed still loads (absent: the shipped
     * default, `DEFAULT_REFUSAL_FLOOD`); null switches it off.
     */
    refusal_flood: Type.Optional(
      Type.Union([
        Type.Object(
          { class: IncidentClass, threshold: Threshold, window_seconds: Seconds },
          closed,
        ),
        Type.Null(),
      ]),
    ),
    containment: Type.Object(
      {
        timeout_ms: Type.Object(
          {
            freeze_agent: TimeoutMs,
            disable_airlock: TimeoutMs,
            force_vault_relock: TimeoutMs,
            quarantine_model: TimeoutMs,
            revoke_identity: TimeoutMs,
          },
          closed,
        ),
      },
      closed,
    ),
    ceremony: Type.Object(
      {
        /** Only a hardware attestation with verified evidence completes a re-attestation. */
        require_hardware_attestation: Type.Boolean(),
        attest_timeout_ms: TimeoutMs,
      },
      closed,
    ),
  },
  closed,
);
export type IncidentPolicyDocument = Static<typeof IncidentPolicySchema>;

export interface ClassRule {
  severity: IncidentSeverityName;
  autoContain: boolean;
  latched: boolean;
  actions: readonly ContainmentActionName[];
}

export interface ObservationRule {
  class: IncidentClassName;
  severity?: IncidentSeverityName;
}

export interface DenyBurstRule {
  id: string;
  class: IncidentClassName;
  domains: readonly string[];
  threshold: number;
  windowSeconds: number;
  sameSubject: boolean;
  excludeCallers: readonly string[];
}

export interface EscalationRule {
  id: string;
  class: IncidentClassName;
  threshold: number;
  windowSeconds: number;
  to: IncidentSeverityName;
}

export interface RefusalFloodRule {
  class: IncidentClassName;
  threshold: number;
  windowSeconds: number;
}

/** What a policy without `refusal_flood` gets (the shipped file says the same). */
export const DEFAULT_REFUSAL_FLOOD: RefusalFloodRule = {
  class: 'bus_abuse',
  threshold: 100,
  windowSeconds: 10,
};

/**
 * What a policy without a GPU observation rule gets (the shipped file says the same): a model
 * that answers differently is a behaviour anomaly and its file changing a manifest mismatch, both
 * about `model/<hex>` (so containment quarantines the model); the host's GPU hardware, driver or
 * device nodes changing is an integrity violation about `gpu/<host>`.
 */
export const DEFAULT_GPU_OBSERVATIONS: Readonly<Record<GpuObservationKind, ObservationRule>> = {
  gpu_model_drift: { class: 'model_behavior_anomaly' },
  gpu_model_file_changed: { class: 'manifest_mismatch' },
  gpu_hardware_fault: { class: 'integrity_violation' },
  gpu_driver_changed: { class: 'integrity_violation' },
  gpu_device_unexpected: { class: 'integrity_violation' },
};

export type RemoteAction = RemoteContainmentAction;

/** The policy as the rules read it. */
export interface IncidentPolicy {
  version: 1;
  classes: Readonly<Record<IncidentClassName, ClassRule>>;
  observations: Readonly<Record<ObservationKind, ObservationRule | null>>;
  denyBursts: readonly DenyBurstRule[];
  escalation: readonly EscalationRule[];
  /** Null: refusal floods open nothing. */
  refusalFlood: RefusalFloodRule | null;
  containment: { timeoutMs: Readonly<Record<RemoteAction, number>> };
  ceremony: { requireHardwareAttestation: boolean; attestTimeoutMs: number };
}

export function fromDocument(doc: IncidentPolicyDocument): IncidentPolicy {
  const classes = Object.fromEntries(
    Object.entries(doc.classes).map(([name, r]) => [
      name,
      { severity: r.severity, autoContain: r.auto_contain, latched: r.latched, actions: r.actions },
    ]),
  ) as unknown as Record<IncidentClassName, ClassRule>;
  const observations = Object.fromEntries([
    ...Object.entries(DEFAULT_GPU_OBSERVATIONS),
    ...Object.entries(doc.observations).map(([kind, r]) => [
      kind,
      r === null ? null : { class: r.class, ...(r.severity ? { severity: r.severity } : {}) },
    ]),
  ]) as Record<ObservationKind, ObservationRule | null>;
  return {
    version: 1,
    classes,
    observations,
    denyBursts: doc.deny_bursts.map((b) => ({
      id: b.id,
      class: b.class,
      domains: b.domains,
      threshold: b.threshold,
      windowSeconds: b.window_seconds,
      sameSubject: b.same_subject,
      excludeCallers: b.exclude_callers ?? [],
    })),
    escalation: doc.escalation.map((e) => ({
      id: e.id,
      class: e.class,
      threshold: e.threshold,
      windowSeconds: e.window_seconds,
      to: e.to,
    })),
    refusalFlood:
      doc.refusal_flood === undefined
        ? DEFAULT_REFUSAL_FLOOD
        : doc.refusal_flood === null
          ? null
          : {
              class: doc.refusal_flood.class,
              threshold: doc.refusal_flood.threshold,
              windowSeconds: doc.refusal_flood.window_seconds,
            },
    containment: { timeoutMs: { ...doc.containment.timeout_ms } },
    ceremony: {
      requireHardwareAttestation: doc.ceremony.require_hardware_attestation,
      attestTimeoutMs: doc.ceremony.attest_timeout_ms,
    },
  };
}
