import { Type } from '@sinclair/typebox';
import { defineEvent } from './define.js';
import { AbsolutePath, Count, Digest, IsoTime, ServiceNameSchema, Text, closed } from './common.js';

// The policy engine: which policy is active (aggregate `policy/active`) and every decision it made
// (aggregate `decision/<domain>`), with the evidence needed to re-derive it later.

/** The decision domains the policy engine knows. */
export const POLICY_DOMAINS = [
  'tool_access',
  'path_access',
  'egress',
  'model_source',
  'agent_risk',
  'sensitivity',
  'model_promotion',
  'mcp_call',
] as const;
export const PolicyDomain = Type.Union(POLICY_DOMAINS.map((d) => Type.Literal(d)));
/**
 * A requested domain: one of the known ones, or an unknown one (decided `deny`, rule `unknown_domain`).
 * It is the aggregate id, so even an unknown domain must be a plain lowercase token.
 */
export const RequestedDomain = Type.Union([
  PolicyDomain,
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' }),
]);
export const PolicyDecision = Type.Union([
  Type.Literal('allow'),
  Type.Literal('deny'),
  Type.Literal('ask'),
]);
/** Dotted rule identifier (`tools.deny.shell_exec`, `airlock.destination_miss`). */
export const RuleId = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\s\\x00-\\x1f\\x7f]+$',
});
/** What made the engine (re)load: start, a file change, SIGHUP, the HTTP API, a NATS command. */
export const PolicyLoadTrigger = Type.Union(
  ['startup', 'reload', 'file_change', 'signal', 'api', 'command'].map((t) => Type.Literal(t)),
);

/** One decision as recorded: `policy.decided`, and each member of `policy.decisions.recorded`. */
export const PolicyDecidedData = Type.Object(
  {
    caller: ServiceNameSchema,
    domain: RequestedDomain,
    /** The subject asked about (tool, path, URL...): its digest and a redacted copy, never raw. */
    subject: Type.Object({ digest: Digest, redacted: Text(512) }, closed),
    action: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_.-]*$' }),
    ),
    /**
     * The decision input exactly as the rules read it, as canonical JSON: only the fields a
     * rule looks at, already normalised (a URL without credentials, query or fragment), so it
     * holds no secret and a replay can re-evaluate it. `evidence.inputDigest` is its SHA-256.
     */
    input: Type.String({ minLength: 2, maxLength: 16384 }),
    decision: PolicyDecision,
    /** Human reason, built from redacted values only. */
    reason: Text(512),
    evidence: Type.Object(
      {
        domain: RequestedDomain,
        ruleId: RuleId,
        /** Null when no valid policy was loaded (the decision is then always deny). */
        policyDigest: Type.Union([Digest, Type.Null()]),
        /** Digest of the canonical decision input (domain, subject, action, params). */
        inputDigest: Digest,
        evaluatedAt: IsoTime,
        durationMicros: Count,
        trace: Type.Array(
          Type.Object({ ruleId: RuleId, matched: Type.Boolean(), why: Text(256) }, closed),
          { maxItems: 64 },
        ),
      },
      closed,
    ),
  },
  closed,
);

export const policyEvents = {
  'policy.loaded': defineEvent(
    'policy.loaded',
    'policy',
    Type.Object(
      {
        /** SHA-256 of the canonical JSON of the validated documents (`documents`). */
        digest: Digest,
        /** The `version` field of the policy document. */
        version: Type.Integer({ minimum: 1 }),
        trigger: PolicyLoadTrigger,
        previousDigest: Type.Union([Digest, Type.Null()]),
        files: Type.Array(
          Type.Object({ path: AbsolutePath, digest: Digest, sizeBytes: Count }, closed),
          { minItems: 1, maxItems: 64 },
        ),
        /**
         * The validated documents as canonical JSON (`{"agent":…,"policy":…}`, with `"mcp":…`
         * when the directory has an `mcp.yaml`); `digest` is its
         * SHA-256. Carried so every decision can be re-derived from the stream alone.
         */
        documents: Type.String({ minLength: 2, maxLength: 262144 }),
      },
      closed,
    ),
    'A policy was parsed, validated and made active.',
  ),
  'policy.load.failed': defineEvent(
    'policy.load.failed',
    'policy',
    Type.Object(
      {
        trigger: PolicyLoadTrigger,
        /** Digest of what was read; null when nothing could be read. */
        attemptedDigest: Type.Union([Digest, Type.Null()]),
        /** The policy that stays active; null when none is (a failed first load). */
        activeDigest: Type.Union([Digest, Type.Null()]),
        errors: Type.Array(
          Type.Object(
            {
              file: AbsolutePath,
              /** Where in the document (`tools.allow[2].name`); empty for a whole-file error. */
              keyPath: Text(512),
              message: Text(512),
            },
            closed,
          ),
          { minItems: 1, maxItems: 64 },
        ),
      },
      closed,
    ),
    'A policy load or reload was refused; the previous policy, if any, stays active.',
  ),
  'policy.decided': defineEvent(
    'policy.decided',
    'decision',
    PolicyDecidedData,
    'The policy engine decided a request, with the evidence to re-derive the decision.',
  ),
  'policy.decisions.recorded': defineEvent(
    'policy.decisions.recorded',
    'decision',
    Type.Object(
      {
        /**
         * Decisions that arrived together, recorded with one signature and one acknowledgement
         * (group commit). Decision `i` is addressed as `<event id>#<i>`; each is exactly what a
         * `policy.decided` would carry, and all share the envelope's causation and correlation.
         */
        decisions: Type.Array(PolicyDecidedData, { minItems: 2, maxItems: 512 }),
      },
      closed,
    ),
    'Several decisions of one domain, recorded together as one group (group commit).',
  ),
} as const;
