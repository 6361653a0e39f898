import { Type, type Static } from '@sinclair/typebox';
import { EventId, closed } from './events/common.js';
import { PolicyDecision, RequestedDomain, RuleId } from './events/policy.js';
import {
  AcquisitionVia,
  BehavioralScore,
  ModelFormat,
  PinStatus,
  ProvenanceLevel,
  QuarantineStage,
} from './events/supplyChain.js';

/** Largest decide request body accepted (HTTP and NATS), documented in the policy engine README. */
export const MAX_DECISION_REQUEST_BYTES = 64 * 1024;

/** What a quarantine run established, as `model_promotion` reads it (from `quarantine.completed`). */
export const PromotionInput = Type.Object(
  {
    passed: Type.Boolean(),
    format: Type.Union([ModelFormat, Type.Null()]),
    failedStage: Type.Union([QuarantineStage, Type.Null()]),
    stages: Type.Array(Type.Object({ stage: QuarantineStage, passed: Type.Boolean() }, closed), {
      maxItems: 7,
    }),
    behavioralScore: Type.Union([BehavioralScore, Type.Null()]),
    provenance: ProvenanceLevel,
    pin: PinStatus,
    signer: Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()]),
    via: AcquisitionVia,
  },
  closed,
);

/**
 * One question to the policy engine. `subject` is what is asked about (a tool, a path, a URL, an
 * agent action, a sensitivity level, a model name); `action`, `params` and `promotion` carry the
 * rest, per domain. Closed: an unknown field is a 400, never ignored.
 */
export const DecisionRequest = Type.Object(
  {
    domain: RequestedDomain,
    subject: Type.String({ maxLength: 4096 }),
    action: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_.-]*$' }),
    ),
    params: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String({ maxLength: 4096 })),
          ceiling: Type.Optional(Type.String({ maxLength: 32 })),
          method: Type.Optional(Type.String({ maxLength: 16 })),
        },
        closed,
      ),
    ),
    promotion: Type.Optional(PromotionInput),
  },
  closed,
);

export const DecisionEvidence = Type.Object(
  {
    domain: RequestedDomain,
    ruleId: RuleId,
    policyDigest: Type.Union([Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }), Type.Null()]),
    inputDigest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
    evaluatedAt: Type.String({ format: 'date-time' }),
    durationMicros: Type.Integer({ minimum: 0 }),
    trace: Type.Array(
      Type.Object(
        { ruleId: RuleId, matched: Type.Boolean(), why: Type.String({ maxLength: 256 }) },
        closed,
      ),
      { maxItems: 64 },
    ),
  },
  closed,
);

/** The answer: the decision, why, the evidence, and the `policy.decided` event that recorded it. */
export const DecisionResponse = Type.Object(
  {
    decision: PolicyDecision,
    reason: Type.String({ maxLength: 512 }),
    evidence: DecisionEvidence,
    /** Id of the `policy.decided` event (null only if recording failed and the answer is deny). */
    eventId: Type.Union([EventId, Type.Null()]),
  },
  closed,
);

export type DecisionRequestData = Static<typeof DecisionRequest>;
export type DecisionResponseData = Static<typeof DecisionResponse>;
export type PromotionInputData = Static<typeof PromotionInput>;
