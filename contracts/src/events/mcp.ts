import { Type } from '@sinclair/typebox';
import { defineEvent } from './define.js';
import { Count, Digest, Operator, ReasonCode, SubjectToken, Text, closed } from './common.js';
import { PolicyDecision, RuleId } from './policy.js';

// The MCP firewall: calls decided per MCP session (aggregate `mcp/<session>`), taint applied and
// cleared, and upstream tools pinned, changed and refused (`mcp-server/<server>`).
// Never an argument value or a tool's output: their digests, sizes and redacted previews only.
// What an upstream server says about itself (tool names, descriptions) is hostile text: the
// firewall escapes invisible characters and truncates it before it is recorded.

/** An MCP server or taint label as policy names them (the `mcp_call` decision input's names). */
export const McpPolicyName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_.:-]+$',
});
/** A firewall session id: also the aggregate id. */
export const McpSessionId = SubjectToken(64);
/** One call through the firewall (joins a `mcp.call.decided` to its `mcp.call.completed`). */
export const McpCallId = SubjectToken(64);
/** Who owns a session: an appliance service (`service:<name>`) or a person's API key (`key:<name>`). */
export const McpCaller = Type.String({
  minLength: 5,
  maxLength: 80,
  pattern: '^(service|key):[a-z0-9][a-z0-9_.-]*$',
});
/** A tool name as an upstream sent it, invisible characters escaped (`<U+200B>`): no control characters. */
export const McpToolLabel = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\x00-\\x1f\\x7f]+$',
});
export const McpMethod = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z]+(/[a-z_]+)?$',
});
export const McpTransport = Type.Union([Type.Literal('stdio'), Type.Literal('http')]);

/** Hostile text as recorded: escaped, cut to 1,024 characters; its full length and digest. */
export const McpText = Type.Object({ text: Text(1024), length: Count, digest: Digest }, closed);

/**
 * One version of an upstream tool: the digest pinned (SHA-256 of the canonical JSON of what a
 * client is shown: name, title, description, input and output schema, annotations), and enough
 * to tell two versions apart by eye.
 */
export const McpToolVersion = Type.Object(
  {
    digest: Digest,
    description: McpText,
    inputSchemaDigest: Digest,
    outputSchemaDigest: Type.Union([Digest, Type.Null()]),
  },
  closed,
);

/** An argument as recorded: never its value, at most a short redacted preview. */
export const McpArgumentSummary = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    bytes: Count,
    /** SHA-256 of the raw value's canonical JSON. */
    digest: Digest,
    /** The start of the redacted value; absent when the policy marks the argument `redact`. */
    preview: Type.Optional(Text(96)),
  },
  closed,
);

const WhatWasCalled = {
  session: McpSessionId,
  callId: McpCallId,
  /** Null when no server could be named (a call to a tool no server lists). */
  server: Type.Union([McpPolicyName, Type.Null()]),
  method: McpMethod,
  tool: Type.Optional(McpToolLabel),
  /** The resource URI or prompt name, redacted and cut. */
  resource: Type.Optional(Text(512)),
};

export const mcpEvents = {
  'mcp.session.opened': defineEvent(
    'mcp.session.opened',
    'mcp',
    Type.Object(
      {
        session: McpSessionId,
        caller: McpCaller,
        /** What the client said it is in `initialize` (its own words, escaped and cut). */
        client: Type.Object({ name: Text(128), version: Text(64) }, closed),
      },
      closed,
    ),
    'A client opened an MCP session through the firewall; the session belongs to this caller.',
  ),
  'mcp.session.closed': defineEvent(
    'mcp.session.closed',
    'mcp',
    Type.Object(
      {
        session: McpSessionId,
        caller: McpCaller,
        reason: Type.Union([Type.Literal('client'), Type.Literal('operator')]),
      },
      closed,
    ),
    'An MCP session was ended; it cannot be resumed.',
  ),
  'mcp.call.decided': defineEvent(
    'mcp.call.decided',
    'mcp',
    Type.Object(
      {
        ...WhatWasCalled,
        decision: PolicyDecision,
        /** `policy`: the engine's `mcp_call` decision; `firewall`: the firewall's own refusal. */
        by: Type.Union([Type.Literal('policy'), Type.Literal('firewall')]),
        ruleId: RuleId,
        reason: Text(512),
        /** The engine's recorded decision (`<event id>` or `<event id>#<i>`); null for the firewall's. */
        decisionId: Type.Union([Type.String({ minLength: 1, maxLength: 72 }), Type.Null()]),
        arguments: Type.Array(McpArgumentSummary, { maxItems: 128 }),
        /** The session's active taint the decision was made with. */
        taint: Type.Array(McpPolicyName, { maxItems: 64 }),
      },
      closed,
    ),
    'The firewall decided one MCP request (through the policy engine, or refused it itself).',
  ),
  'mcp.call.completed': defineEvent(
    'mcp.call.completed',
    'mcp',
    Type.Object(
      {
        ...WhatWasCalled,
        outcome: Type.Union([
          Type.Literal('ok'),
          Type.Literal('tool_error'),
          Type.Literal('too_large'),
          Type.Literal('upstream_failed'),
        ]),
        /** SHA-256 of the output as the client received it (null when nothing was returned). */
        outputDigest: Type.Union([Digest, Type.Null()]),
        /**
         * Bytes the upstream answered with, counted while reading. An answer refused for its size
         * was never held: over HTTP reading stops past the bound, over stdio the bytes are counted
         * and dropped as they arrive.
         */
        bytes: Count,
        truncated: Type.Boolean(),
        redactions: Type.Array(Type.Object({ category: ReasonCode, count: Count }, closed), {
          maxItems: 32,
        }),
        injection: Type.Object(
          { found: Type.Boolean(), signals: Type.Array(ReasonCode, { maxItems: 16 }) },
          closed,
        ),
        durationMs: Count,
      },
      closed,
    ),
    'An allowed MCP request was carried out; what came back, bounded, redacted and scanned.',
  ),
  'mcp.taint.applied': defineEvent(
    'mcp.taint.applied',
    'mcp',
    Type.Object(
      {
        session: McpSessionId,
        label: McpPolicyName,
        /** The call whose execution applied it. */
        callId: McpCallId,
        server: McpPolicyName,
        tool: Type.Optional(McpToolLabel),
        cause: Type.Union([
          Type.Literal('policy'),
          Type.Literal('untrusted_server'),
          Type.Literal('injection'),
        ]),
      },
      closed,
    ),
    'A call that executed labelled its session (the label stays until an operator clears it).',
  ),
  'mcp.taint.cleared': defineEvent(
    'mcp.taint.cleared',
    'mcp',
    Type.Object(
      {
        session: McpSessionId,
        labels: Type.Array(McpPolicyName, { minItems: 1, maxItems: 64 }),
        operator: Operator,
        reason: Text(512),
      },
      closed,
    ),
    "An operator cleared a session's taint.",
  ),
  'mcp.tool.pinned': defineEvent(
    'mcp.tool.pinned',
    'mcp-server',
    Type.Object(
      {
        server: McpPolicyName,
        tool: McpPolicyName,
        version: McpToolVersion,
        /** The version this approval replaces (null at first approval). */
        previousDigest: Type.Union([Digest, Type.Null()]),
        operator: Operator,
      },
      closed,
    ),
    'An operator approved one version of an upstream tool: only that version is listed and called.',
  ),
  'mcp.tool.changed': defineEvent(
    'mcp.tool.changed',
    'mcp-server',
    Type.Object(
      {
        server: McpPolicyName,
        tool: McpPolicyName,
        pinned: McpToolVersion,
        observed: McpToolVersion,
      },
      closed,
    ),
    'An upstream presented a pinned tool changed (a rug pull): it is hidden until approved again.',
  ),
  'mcp.tool.refused': defineEvent(
    'mcp.tool.refused',
    'mcp-server',
    Type.Object(
      {
        server: McpPolicyName,
        tool: McpToolLabel,
        version: McpToolVersion,
        reasons: Type.Array(Type.Object({ code: ReasonCode, detail: Text(256) }, closed), {
          minItems: 1,
          maxItems: 16,
        }),
      },
      closed,
    ),
    'An upstream tool is not listed: poisoned, shadowing another server, badly named or not approved.',
  ),
  'mcp.server.connected': defineEvent(
    'mcp.server.connected',
    'mcp-server',
    Type.Object(
      {
        server: McpPolicyName,
        transport: McpTransport,
        /** How a local server runs: `namespaces` (no network) or `process`; `remote` over HTTP. */
        sandbox: Type.Union([
          Type.Literal('namespaces'),
          Type.Literal('process'),
          Type.Literal('remote'),
        ]),
        /** What the server says it is (its own words, escaped and cut). */
        serverInfo: Type.Object({ name: Text(128), version: Text(64) }, closed),
      },
      closed,
    ),
    'The firewall connected to an upstream MCP server named in policy.',
  ),
  'mcp.server.failed': defineEvent(
    'mcp.server.failed',
    'mcp-server',
    Type.Object(
      { server: McpPolicyName, transport: McpTransport, reason: ReasonCode, detail: Text(512) },
      closed,
    ),
    'An upstream MCP server could not be started, reached or kept.',
  ),
} as const;

/** Who may emit each MCP event (merged into `AUTHORITY`). */
export const mcpAuthority = {
  'mcp.session.opened': ['mcp-firewall'],
  'mcp.session.closed': ['mcp-firewall'],
  'mcp.call.decided': ['mcp-firewall'],
  'mcp.call.completed': ['mcp-firewall'],
  'mcp.taint.applied': ['mcp-firewall'],
  'mcp.taint.cleared': ['mcp-firewall'],
  'mcp.tool.pinned': ['mcp-firewall'],
  'mcp.tool.changed': ['mcp-firewall'],
  'mcp.tool.refused': ['mcp-firewall'],
  'mcp.server.connected': ['mcp-firewall'],
  'mcp.server.failed': ['mcp-firewall'],
} as const satisfies Record<keyof typeof mcpEvents, readonly ['mcp-firewall']>;
