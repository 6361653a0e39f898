import { Type, type Static } from '@sinclair/typebox';

// The MCP policy document (`mcp.yaml` in the policy directory), as data. The policy engine
// validates it (this schema plus semantic rules: unique names, regexes that compile, loopback
// URLs, path patterns) and decides `mcp_call` on it; the MCP firewall reads the same document from
// the active policy (`mcpPolicyOf`) to know which servers to connect to, how to launch them, their
// rate limits, which arguments it must not send in clear, which taint a call applies and what to
// redact. Every key is documented in services/policy-engine/POLICY.md. Every object is closed.

const closed = { additionalProperties: false } as const;

/** A server, tool, rule or taint label name: 1–128 characters of `A-Za-z0-9_.:-`. */
const PolicyName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_.:-]+$',
});
/** A regular expression (RE2 syntax, see POLICY.md): compiled and bounded when the policy loads. */
export const McpRegex = Type.String({ minLength: 1, maxLength: 512 });
/** Longest regular expression accepted, in characters. */
export const MCP_MAX_REGEX_LENGTH = 512;

/** How far a server is trusted. Any tool output of an `untrusted` server taints with `untrusted`. */
export const MCP_TRUST_LEVELS = ['trusted', 'verified', 'untrusted'] as const;
export type McpTrustLevel = (typeof MCP_TRUST_LEVELS)[number];
const TrustLevel = Type.Union(MCP_TRUST_LEVELS.map((t) => Type.Literal(t)));

/** The MCP methods policy speaks of; any other method is denied (`mcp.method_unknown`). */
export const MCP_METHODS = [
  'tools/call',
  'tools/list',
  'resources/read',
  'resources/list',
  'prompts/list',
  'prompts/get',
] as const;
export type McpPolicyMethod = (typeof MCP_METHODS)[number];
const Method = Type.Union(MCP_METHODS.map((m) => Type.Literal(m)));

/**
 * The two taint labels the built-in toxic-flow rules read: `private` (the session has read private
 * data: workspace files, the vault) and `untrusted` (it has seen untrusted content: the web, any
 * output of an untrusted server). Policy may use other labels in its own rules.
 */
export const MCP_TAINT = { private: 'private', untrusted: 'untrusted' } as const;

/** Secret shapes the MCP firewall redacts from arguments and outputs (reference §5.4). */
export const MCP_REDACTION_PATTERNS = [
  'api_key',
  'bearer_token',
  'password',
  'email',
  'aws_key',
  'private_key',
  'connection_string',
  'ssn',
] as const;
export type McpRedactionPattern = (typeof MCP_REDACTION_PATTERNS)[number];
/** What is redacted when `redaction` is absent: every shape but `email`. */
export const MCP_DEFAULT_REDACTION: readonly McpRedactionPattern[] = MCP_REDACTION_PATTERNS.filter(
  (p) => p !== 'email',
);

/** A server's rate limit when its policy names none (the reference's 120 per minute, burst 20). */
export const MCP_DEFAULT_RATE_LIMIT = { requests_per_minute: 120, burst_size: 20 } as const;

/**
 * Largest argument value the firewall sends in clear to the policy engine, in UTF-8 bytes (the
 * `value` of `McpCallInput`); a longer value travels as its size and digest only.
 */
export const MCP_INLINE_VALUE_MAX_BYTES = 2048;

/**
 * Argument names `path_restrict` applies to (compared case-insensitively): a value under one of
 * these names is a file-system path.
 */
export const MCP_PATH_ARGUMENT_NAMES = [
  'path',
  'file',
  'filepath',
  'file_path',
  'filename',
  'directory',
  'dir',
  'target',
  'destination',
  'source',
] as const;

const Labels = Type.Array(PolicyName, { minItems: 1, maxItems: 8, uniqueItems: true });
const Reason = Type.String({ minLength: 1, maxLength: 256 });
const Description = Type.String({ maxLength: 512 });

export const McpArgRule = Type.Object(
  {
    /** The argument's name, exactly as the client sends it. */
    name: Type.String({ minLength: 1, maxLength: 256 }),
    /** The call is denied when the argument is missing. */
    required: Type.Optional(Type.Boolean()),
    /** Largest value, in UTF-8 bytes (checked on the size, so it holds for any value). */
    max_len: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 * 1024 * 1024 })),
    /** RE2, unanchored: the value must match. A value the engine cannot read is denied. */
    pattern: Type.Optional(McpRegex),
    /** The value never leaves the firewall (size and digest only): no value rule can read it. */
    redact: Type.Optional(Type.Boolean()),
  },
  closed,
);

export const McpToolPolicy = Type.Object(
  {
    name: PolicyName,
    action: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('ask')]),
    /** When present, the complete list of arguments the tool may receive (`[]`: none). */
    arg_rules: Type.Optional(Type.Array(McpArgRule, { maxItems: 64 })),
    /** Path prefixes (`/a` or `/a/**`) every path-named argument must be under. */
    path_restrict: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' }), { maxItems: 64 }),
    ),
    /** Labels the firewall applies to the session when a call of this tool executes. */
    taint: Type.Optional(Labels),
    /** Required: does the tool reach the network or write outside the workspace? */
    outward: Type.Boolean(),
  },
  closed,
);

export const McpResourceRule = Type.Object(
  {
    /** A URI glob: `*` matches within one `/`-separated segment, a final `/**` any depth. */
    pattern: Type.String({ minLength: 1, maxLength: 2048 }),
    action: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('ask')]),
    /** Labels applied to the session when a read of a matching resource executes. */
    taint: Type.Optional(Labels),
  },
  closed,
);

export const McpServerPolicy = Type.Object(
  {
    name: PolicyName,
    trust_level: TrustLevel,
    /** A local server: the program and its arguments (launched sandboxed, without network). */
    command: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64 }),
    ),
    /** A streamable-HTTP server: `http://` on a loopback address, in canonical form. */
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    rate_limit: Type.Optional(
      Type.Object(
        {
          requests_per_minute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
          burst_size: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
        },
        closed,
      ),
    ),
    /** `prompts/get` on this server (default `deny`: a prompt is text the server writes). */
    prompts: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')])),
    resources: Type.Optional(Type.Array(McpResourceRule, { maxItems: 256 })),
    tools: Type.Optional(Type.Array(McpToolPolicy, { maxItems: 256 })),
  },
  closed,
);

export const McpGlobalRule = Type.Object(
  {
    name: PolicyName,
    description: Type.Optional(Description),
    /** Every condition present must hold; at least one must be present and non-empty. */
    match: Type.Object(
      {
        methods: Type.Optional(Type.Array(Method, { maxItems: 6, uniqueItems: true })),
        /** The server is known and has one of these trust levels. */
        server_trust: Type.Optional(Type.Array(TrustLevel, { maxItems: 3, uniqueItems: true })),
        /** The session carries one of these labels. */
        has_taint: Type.Optional(Type.Array(PolicyName, { maxItems: 32, uniqueItems: true })),
        /** One of these matches an argument's name or its value (each tested on its own). */
        arg_patterns: Type.Optional(Type.Array(McpRegex, { maxItems: 32 })),
      },
      closed,
    ),
    action: Type.Union([Type.Literal('deny'), Type.Literal('ask')]),
    reason: Reason,
  },
  closed,
);

export const McpTaintRule = Type.Object(
  {
    name: PolicyName,
    description: Type.Optional(Description),
    match: Type.Object(
      {
        /** The session carries one of these labels. */
        source_taint: Type.Array(PolicyName, { minItems: 1, maxItems: 32, uniqueItems: true }),
        /** The call is `tools/call` of one of these tools. */
        target_tools: Type.Optional(Type.Array(PolicyName, { maxItems: 256, uniqueItems: true })),
        /** The call goes to one of these servers. */
        target_servers: Type.Optional(Type.Array(PolicyName, { maxItems: 64, uniqueItems: true })),
        /** The called tool's `outward` is this (a call that is no tool call is not outward). */
        target_outward: Type.Optional(Type.Boolean()),
      },
      closed,
    ),
    action: Type.Union([Type.Literal('deny'), Type.Literal('ask')]),
    reason: Reason,
  },
  closed,
);

export const McpPolicySchema = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    /** Constant: there is no allow-all mode. */
    default_action: Type.Literal('deny'),
    servers: Type.Array(McpServerPolicy, { maxItems: 64 }),
    global_rules: Type.Optional(Type.Array(McpGlobalRule, { maxItems: 64 })),
    taint_rules: Type.Optional(Type.Array(McpTaintRule, { maxItems: 64 })),
    redaction: Type.Optional(
      Type.Object(
        {
          patterns: Type.Array(Type.Union(MCP_REDACTION_PATTERNS.map((p) => Type.Literal(p))), {
            maxItems: MCP_REDACTION_PATTERNS.length,
            uniqueItems: true,
          }),
        },
        closed,
      ),
    ),
  },
  closed,
);

export type McpPolicy = Static<typeof McpPolicySchema>;
export type McpServerPolicyData = Static<typeof McpServerPolicy>;
export type McpToolPolicyData = Static<typeof McpToolPolicy>;
export type McpArgRuleData = Static<typeof McpArgRule>;
export type McpResourceRuleData = Static<typeof McpResourceRule>;
export type McpGlobalRuleData = Static<typeof McpGlobalRule>;
export type McpTaintRuleData = Static<typeof McpTaintRule>;
