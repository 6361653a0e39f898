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

/** An MCP server, tool or taint label name as policy names them. */
const McpName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' });

/**
 * What `mcp_call` reads: one MCP request as the MCP firewall saw it. Arguments are never carried
 * raw: each has its size and digest, and `value` (already redacted of secrets) only when it is
 * short enough to inspect (≤ 2 KiB) and the policy does not mark it `redact`; a rule that must
 * read a value that is absent denies. `taint` is the session's active labels, in the order applied.
 */
export const McpCallInput = Type.Object(
  {
    server: McpName,
    /** `tools/call`, `tools/list`, `resources/read`, `resources/list`, `prompts/get`, ... */
    method: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z]+(/[a-z_]+)?$' }),
    tool: Type.Optional(McpName),
    resource: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    arguments: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 256 }),
          bytes: Type.Integer({ minimum: 0 }),
          digest: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
          value: Type.Optional(Type.String({ maxLength: 2048 })),
        },
        closed,
      ),
      { maxItems: 128 },
    ),
    taint: Type.Array(McpName, { maxItems: 64, uniqueItems: true }),
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
    /** `mcp_call` only. */
    mcp: Type.Optional(McpCallInput),
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
    /**
     * Id of the event that recorded the decision: a `policy.decided`, or the
     * `policy.decisions.recorded` group it was committed in (null only if recording failed and
     * the answer is deny).
     */
    eventId: Type.Union([EventId, Type.Null()]),
    /**
     * The decision's own address: `eventId` for a `policy.decided`, `<eventId>#<index>` for a
     * member of a group.
     */
    decisionId: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 72 }), Type.Null()]),
    ),
  },
  closed,
);

export type DecisionRequestData = Static<typeof DecisionRequest>;
export type DecisionResponseData = Static<typeof DecisionResponse>;
export type PromotionInputData = Static<typeof PromotionInput>;
export type McpCallInputData = Static<typeof McpCallInput>;
