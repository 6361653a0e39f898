import { Type, type Static } from '@sinclair/typebox';
import type { McpPolicy } from '@secai/contracts';

// The policy documents, as data. Every object is closed: an unknown key is a load error naming
// its key path, never silently ignored (the original ignored unknown keys and read the wrong
// ones). Each key is documented in POLICY.md (package root).

const closed = { additionalProperties: false } as const;
const Name = (maxLength = 128) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_.:-]+$' });
/** An absolute path pattern: a prefix, optionally ending in `/**`. */
const PathPattern = Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' });
const PathList = Type.Array(PathPattern, { maxItems: 256 });
const NameList = Type.Array(Name(), { maxItems: 1024, uniqueItems: true });
/** A destination: `https://host[:port][/path]`, or a bare host name. */
const Destination = Type.String({ minLength: 1, maxLength: 2048 });
const HttpMethod = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)),
);
export const MODEL_FORMATS = [
  'gguf',
  'safetensors',
  'diffusion-directory',
  'pickle',
  'pt',
  'bin',
  'onnx',
] as const;
const FormatName = Type.Union(MODEL_FORMATS.map((f) => Type.Literal(f)));

/**
 * Static-scan thresholds by name (the quarantine's DEFAULT_STATIC_SCAN_THRESHOLDS lists them and
 * their reference defaults). Names are checked against that list when the quarantine loads them.
 */
const StaticScanThresholds = Type.Record(
  Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  Type.Number(),
  { maxProperties: 64 },
);

/**
 * The model readers' structural bounds by name (the quarantine's FORMAT_LIMIT_BOUNDS lists them,
 * their ranges and the readers' defaults). Names and ranges are checked when the quarantine loads
 * them, as for `static_scan`.
 */
const FormatGateBounds = Type.Record(
  Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  Type.Integer({ minimum: 0 }),
  { maxProperties: 64 },
);

export const ToolAllowEntry = Type.Object(
  {
    name: Name(),
    paths_allowlist: Type.Optional(PathList),
    paths_denylist: Type.Optional(PathList),
  },
  closed,
);

export const MainPolicySchema = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    defaults: Type.Object(
      {
        network: Type.Object(
          { runtime_egress: Type.Union([Type.Literal('deny'), Type.Literal('allow')]) },
          closed,
        ),
        logging: Type.Optional(
          Type.Object(
            {
              store_raw_prompts: Type.Optional(Type.Boolean()),
              store_raw_responses: Type.Optional(Type.Boolean()),
            },
            closed,
          ),
        ),
      },
      closed,
    ),
    models: Type.Object(
      {
        allowed_formats: Type.Array(FormatName, { maxItems: 16, uniqueItems: true }),
        deny_formats: Type.Array(FormatName, { maxItems: 16, uniqueItems: true }),
        /** Promotion requires a verified signature (provenance signature-verified or manifest-pinned). */
        require_signature: Type.Boolean(),
        /** Promotion requires a pin for artifacts that came from the network (airlock). */
        require_pin_for_remote: Type.Boolean(),
        /** GGUF promotion requires a behavioural test result. */
        require_behavior_tests: Type.Boolean(),
        /** Signers whose signatures count, when require_signature is true (empty: any verified signer). */
        trusted_signers: Type.Optional(
          Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 64 }),
        ),
      },
      closed,
    ),
    quarantine: Type.Object(
      {
        /** Highest behavioural score that may still be promoted (0 = no flagged answer at all). */
        behavior_max_score: Type.Number({ minimum: 0, maximum: 0.3 }),
        /** Critical findings allowed: always 0. */
        behavior_max_critical: Type.Literal(0),
        /** Share of empty or degenerate answers above which the behavioural test fails (can only tighten). */
        behavior_max_degenerate_fraction: Type.Optional(Type.Number({ minimum: 0, maximum: 0.25 })),
        /** Share of identical answers above which the behavioural test fails (can only tighten). */
        behavior_max_identical_fraction: Type.Optional(Type.Number({ minimum: 0, maximum: 0.9 })),
        /** Wall-clock limit of each sandboxed stage worker but the behavioural test (default 120). */
        stage_timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
        /** Wall-clock limit of the behavioural test (default 600). */
        behavior_timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7200 })),
        /** V8 heap of each stage worker, MiB (default 2048). */
        stage_memory_mib: Type.Optional(Type.Integer({ minimum: 256, maximum: 65536 })),
        /** Public keys an OpenSSF model-signing signature may be made with (provenance stage). */
        provenance_keys: Type.Optional(
          Type.Array(
            Type.Object(
              {
                id: Name(),
                public_key_pem: Type.String({
                  minLength: 64,
                  maxLength: 8192,
                  pattern: '^-----BEGIN PUBLIC KEY-----',
                }),
              },
              closed,
            ),
            { maxItems: 64 },
          ),
        ),
        /** CA certificates a signing certificate must chain to (offline: no Fulcio, no Rekor). */
        provenance_ca_certificates: Type.Optional(
          Type.Array(
            Type.String({
              minLength: 64,
              maxLength: 16384,
              pattern: '^-----BEGIN CERTIFICATE-----',
            }),
            { maxItems: 16 },
          ),
        ),
        /** Static-scan thresholds, each overriding the reference's default (see POLICY.md). */
        static_scan: Type.Optional(StaticScanThresholds),
        /** The readers' structural bounds (GGUF, safetensors, diffusers, polyglot; see POLICY.md). */
        format_gate: Type.Optional(FormatGateBounds),
        /** Intake limits (reference values as defaults). */
        intake: Type.Optional(
          Type.Object(
            {
              max_file_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
              max_total_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
              max_files: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
              reserve_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
            },
            closed,
          ),
        ),
      },
      closed,
    ),
    tools: Type.Object(
      {
        /** Always deny: a tool is allowed only by an explicit `allow` entry. */
        default: Type.Literal('deny'),
        allow: Type.Array(ToolAllowEntry, { maxItems: 1024 }),
        deny: Type.Array(Type.Object({ name: Name() }, closed), { maxItems: 1024 }),
        rate_limit: Type.Optional(
          Type.Object(
            {
              requests_per_minute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
              burst_size: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
            },
            closed,
          ),
        ),
      },
      closed,
    ),
    airlock: Type.Object(
      {
        enabled: Type.Boolean(),
        allowed_destinations: Type.Array(Destination, { maxItems: 256 }),
        allowed_methods: Type.Array(HttpMethod, { minItems: 1, maxItems: 7, uniqueItems: true }),
      },
      closed,
    ),
    sensitivity: Type.Object(
      {
        /** Levels from least to most sensitive. */
        levels: Type.Array(Name(32), { minItems: 1, maxItems: 16, uniqueItems: true }),
      },
      closed,
    ),
    /** The inference service's backend and limits (optional: defaults in POLICY.md). */
    inference: Type.Optional(
      Type.Object(
        {
          /** `auto` uses a GPU backend when the host has one; CPU is the fallback either way. */
          gpu: Type.Optional(
            Type.Union(['auto', 'off', 'cuda', 'vulkan'].map((g) => Type.Literal(g))),
          ),
          threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 512 })),
          context_size: Type.Optional(Type.Integer({ minimum: 256, maximum: 131072 })),
          max_sessions: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
          /** Requests waiting for a free slot; past it, 429 with Retry-After. */
          queue_length: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
          request_timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
          max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 131072 })),
          /** `sensitive` disposes a session's context when it ends instead of reusing it. */
          session_mode: Type.Optional(
            Type.Union([Type.Literal('standard'), Type.Literal('sensitive')]),
          ),
          session_idle_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
        },
        closed,
      ),
    ),
    /** The GPU integrity watch's probes and scoring (optional: the reference's defaults). */
    gpu_watch: Type.Optional(
      Type.Object(
        {
          interval_seconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400 })),
          sentinel_max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
          /** Probe weights in the composite score (a missing or zero weight counts as 1). */
          weights: Type.Optional(
            Type.Record(
              Type.String({
                pattern:
                  '^(tensor_hash|sentinel_inference|reference_drift|ecc_status|driver_fingerprint|device_allowlist)$',
              }),
              Type.Number({ minimum: 0, maximum: 10 }),
              { maxProperties: 6 },
            ),
          ),
          disabled_probes: Type.Optional(
            Type.Array(
              Type.Union(
                [
                  'tensor_hash',
                  'sentinel_inference',
                  'reference_drift',
                  'ecc_status',
                  'driver_fingerprint',
                  'device_allowlist',
                ].map((p) => Type.Literal(p)),
              ),
              { maxItems: 6, uniqueItems: true },
            ),
          ),
          device_allowlist: Type.Optional(Type.Array(Name(128), { maxItems: 256 })),
        },
        closed,
      ),
    ),
  },
  closed,
);

/** The agent's session modes (`default_mode`, and the keys of `budgets`). */
export const AGENT_MODES = ['offline_only', 'standard', 'online_assisted', 'sensitive'] as const;

export const AgentPolicySchema = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    default_mode: Type.Union(AGENT_MODES.map((m) => Type.Literal(m))),
    always_deny: NameList,
    hard_approval: NameList,
    allowed_tools: NameList,
    workspace: Type.Object({ readable: PathList, writable: PathList }, closed),
    budgets: Type.Optional(
      // Keyed by mode. Closed: a misspelt or unknown mode is an unknown key, not an ignored budget.
      Type.Record(
        Type.String({ pattern: `^(${AGENT_MODES.join('|')})$` }),
        Type.Object(
          {
            max_steps: Type.Integer({ minimum: 1, maximum: 10_000 }),
            max_tool_calls: Type.Integer({ minimum: 0, maximum: 100_000 }),
            max_tokens: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
            max_wall_clock_seconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
          },
          closed,
        ),
        closed,
      ),
    ),
  },
  closed,
);

export type MainPolicy = Static<typeof MainPolicySchema>;
export type AgentPolicy = Static<typeof AgentPolicySchema>;

/** The documents, validated: what every rule reads. */
export interface PolicyDocuments {
  policy: MainPolicy;
  agent: AgentPolicy;
  /** `mcp.yaml` (schema in `@secai/contracts`); absent: no MCP server is known. */
  mcp?: McpPolicy;
}

/** The active policy: its documents, their digest and where they came from. */
export interface PolicySnapshot {
  /** `sha256:<hex>` of `canonicalDocuments`. */
  digest: string;
  version: number;
  documents: PolicyDocuments;
  /**
   * Canonical JSON of `documents` (what `policy.loaded` carries): `{"agent":…,"policy":…}`, or
   * `{"agent":…,"mcp":…,"policy":…}` when there is an `mcp.yaml`.
   */
  canonicalDocuments: string;
  files: { path: string; digest: string; sizeBytes: number }[];
}
