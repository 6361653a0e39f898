import { Type, type Static } from '@sinclair/typebox';
import { defineEvent } from './define.js';
import { Count, Digest, SubjectToken, closed } from './common.js';
import { PolicyDecision, RuleId } from './policy.js';

// The tool firewall (aggregate `toolcall/<callId>`): every tool call it decided and carried out.
// Arguments appear as digests and redacted summaries, never file contents: a path argument shows
// its value, every other string only its length and digest.

/** A tool name as policy writes it (`filesystem.read`). */
export const ToolName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_.:-]+$',
});

/** Who called: an appliance service (`service:<name>`) or a person's API key (`key:<name>`). */
export const ToolCaller = Type.String({
  minLength: 5,
  maxLength: 80,
  pattern: '^(service|key):[a-z0-9A-Z][A-Za-z0-9_.-]*$',
});

/** Where a refused call stopped, in the order the firewall checks. */
export const TOOL_CALL_STAGES = ['validation', 'rate_limit', 'policy', 'path'] as const;
export const ToolCallStage = Type.Union(TOOL_CALL_STAGES.map((s) => Type.Literal(s)));

/** What the redactor looks for in an output before it leaves (`[REDACTED:<kind>]`). */
export const REDACTION_KINDS = [
  'private_key',
  'jwt',
  'bearer_token',
  'connection_string',
  'aws_access_key',
  'aws_secret_key',
  'github_token',
  'slack_token',
  'api_key',
  'password',
] as const;
export type RedactionKind = (typeof REDACTION_KINDS)[number];
/** How many of each kind were redacted; kinds not found are absent. */
export const RedactionCounts = Type.Object(
  {
    private_key: Type.Optional(Count),
    jwt: Type.Optional(Count),
    bearer_token: Type.Optional(Count),
    connection_string: Type.Optional(Count),
    aws_access_key: Type.Optional(Count),
    aws_secret_key: Type.Optional(Count),
    github_token: Type.Optional(Count),
    slack_token: Type.Optional(Count),
    api_key: Type.Optional(Count),
    password: Type.Optional(Count),
  } satisfies Record<RedactionKind, unknown>,
  closed,
);

/** A stable problem code (`TOOL_DENIED`, `PATH_ESCAPE`, `RATE_LIMITED`). */
const ProblemCode = Type.String({ pattern: '^[A-Z][A-Z0-9_]*$', maxLength: 64 });
/** A safe, short explanation (names and paths, never argument values). */
const Reason = Type.String({ maxLength: 512 });
/** `<event id>` of a `policy.decided`, or `<event id>#<i>` of a member of a recorded group. */
export const DecisionRef = Type.String({
  minLength: 1,
  maxLength: 72,
  pattern: '^[A-Za-z0-9_-]+(#[0-9]{1,3})?$',
});

/** One argument as events show it: name, kind, size and digest; the value of paths and scalars. */
export const ArgumentSummary = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f\\x7f]+$' }),
    kind: Type.Union(
      ['path', 'string', 'number', 'boolean', 'null', 'object', 'array'].map((k) =>
        Type.Literal(k),
      ),
    ),
    /** UTF-8 bytes of a string, of the JSON text otherwise. */
    bytes: Count,
    digest: Digest,
    /** Paths (redacted of secrets), numbers and booleans only; never a file's content. */
    value: Type.Optional(Type.String({ maxLength: 512 })),
  },
  closed,
);

/** The call's arguments: a digest of their canonical JSON, and a summary when they were readable. */
export const ToolArguments = Type.Object(
  {
    digest: Digest,
    bytes: Count,
    /** Null when the arguments were refused before they could be read (not an object, too deep). */
    summary: Type.Union([Type.Array(ArgumentSummary, { maxItems: 128 }), Type.Null()]),
  },
  closed,
);

/** A policy decision the call relied on, as the engine recorded it. */
export const ToolDecision = Type.Object(
  {
    domain: Type.Union([Type.Literal('tool_access'), Type.Literal('path_access')]),
    decision: PolicyDecision,
    decisionId: Type.Union([DecisionRef, Type.Null()]),
    ruleId: RuleId,
    inputDigest: Digest,
    /** The logical path asked about (`/vault/...`), null for a tool asked without one. */
    path: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()]),
  },
  closed,
);

const CallId = SubjectToken(64);

export const toolEvents = {
  'tool.call.allowed': defineEvent(
    'tool.call.allowed',
    'toolcall',
    Type.Object(
      {
        callId: CallId,
        tool: ToolName,
        caller: ToolCaller,
        arguments: ToolArguments,
        /** Every decision that allowed it: the tool once per path, and every path. */
        decisions: Type.Array(ToolDecision, { minItems: 1, maxItems: 64 }),
        policyDigest: Type.Union([Digest, Type.Null()]),
      },
      closed,
    ),
    'Every check passed (arguments, rate limit, policy, paths opened and checked); it runs now.',
  ),
  'tool.call.denied': defineEvent(
    'tool.call.denied',
    'toolcall',
    Type.Object(
      {
        callId: CallId,
        /** Null when the name itself was refused. */
        tool: Type.Union([ToolName, Type.Null()]),
        caller: ToolCaller,
        stage: ToolCallStage,
        code: ProblemCode,
        reason: Reason,
        /** The deciding rule, decision and evidence digest when the engine decided. */
        ruleId: Type.Union([RuleId, Type.Null()]),
        decisionId: Type.Union([DecisionRef, Type.Null()]),
        inputDigest: Type.Union([Digest, Type.Null()]),
        /** Every decision made for the call before it was refused. */
        decisions: Type.Array(ToolDecision, { maxItems: 64 }),
        arguments: ToolArguments,
      },
      closed,
    ),
    'A call was refused: at validation, by the rate limit, by policy, or on its paths.',
  ),
  'tool.call.completed': defineEvent(
    'tool.call.completed',
    'toolcall',
    Type.Object(
      {
        callId: CallId,
        tool: ToolName,
        caller: ToolCaller,
        /** What left, after redaction and truncation. */
        output: Type.Object({ digest: Digest, bytes: Count }, closed),
        /** Bytes the adapter produced, before redaction and truncation. */
        producedBytes: Count,
        truncated: Type.Boolean(),
        redactions: RedactionCounts,
        durationMs: Count,
      },
      closed,
    ),
    'An allowed call ran and its output (redacted, size-limited) was returned.',
  ),
  'tool.call.failed': defineEvent(
    'tool.call.failed',
    'toolcall',
    Type.Object(
      {
        callId: CallId,
        tool: ToolName,
        caller: ToolCaller,
        code: ProblemCode,
        reason: Reason,
        durationMs: Count,
      },
      closed,
    ),
    'An allowed call did not complete (the adapter failed, or the output could not be recorded).',
  ),
} as const;

export type ToolCallStageName = Static<typeof ToolCallStage>;
export type ToolDecisionData = Static<typeof ToolDecision>;
export type ToolArgumentsData = Static<typeof ToolArguments>;
export type RedactionCountsData = Static<typeof RedactionCounts>;

/** Who may emit each tool event (merged into `AUTHORITY`). */
export const toolAuthority = {
  'tool.call.allowed': ['tool-firewall'],
  'tool.call.denied': ['tool-firewall'],
  'tool.call.completed': ['tool-firewall'],
  'tool.call.failed': ['tool-firewall'],
} as const satisfies Record<keyof typeof toolEvents, readonly ['tool-firewall']>;
