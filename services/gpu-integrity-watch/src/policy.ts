import { Type, type Static } from '@sinclair/typebox';
import {
  GPU_PROBES,
  GpuProbe,
  schemaProblems,
  sha256Hex,
  type EventData,
  type GpuProbeName,
} from '@secai/contracts';
import { weightsOf, type Weights } from './scoring.js';

// The watch's part of the engine's active policy (POLICY.md `gpu_watch.*`), read from the latest
// verified `policy.loaded` (streams' ActivePolicyReader), never from the engine's files. No valid
// policy: no cycle (fail closed), and /health says why.

/** Defaults of POLICY.md for keys the section leaves out. */
export const DEFAULT_INTERVAL_SECONDS = 300;
export const DEFAULT_SENTINEL_MAX_TOKENS = 16;

const closed = { additionalProperties: false } as const;

/**
 * `gpu_watch` as the engine's schema has it (checked again here: the watch relies on these
 * keys). The rest of the policy document is its other readers' business and is not checked.
 */
export const GpuWatchPolicySchema = Type.Object(
  {
    interval_seconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400 })),
    sentinel_max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    weights: Type.Optional(
      Type.Record(
        Type.String({ pattern: `^(${GPU_PROBES.join('|')})$` }),
        Type.Number({ minimum: 0, maximum: 10 }),
        { maxProperties: 6 },
      ),
    ),
    disabled_probes: Type.Optional(Type.Array(GpuProbe, { maxItems: 6, uniqueItems: true })),
    device_allowlist: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 256 }),
    ),
  },
  closed,
);
export type GpuWatchPolicy = Static<typeof GpuWatchPolicySchema>;

/** The settings a cycle runs with. */
export interface GpuWatchSettings {
  /** The `policy.loaded` digest they come from. */
  policyDigest: string;
  intervalMs: number;
  sentinelMaxTokens: number;
  weights: Weights;
  /** Probes that do not run (absent from the cycle's results). */
  disabled: readonly GpuProbeName[];
  /** Device node names that may exist; null: not set in policy. */
  deviceAllowlist: readonly string[] | null;
}

export type PolicyRead = { ok: true; settings: GpuWatchSettings } | { ok: false; problem: string };

/** The watch's reading of the active policy; any problem refuses it. */
export function gpuWatchSettingsOf(
  loaded: Pick<EventData<'policy.loaded'>, 'digest' | 'documents'> | null,
): PolicyRead {
  if (loaded === null) return { ok: false, problem: 'no policy.loaded is active' };
  // The documents are the text the digest was computed over: a mismatch is not that policy.
  if (`sha256:${sha256Hex(loaded.documents)}` !== loaded.digest)
    return { ok: false, problem: 'policy.loaded documents do not match its digest' };
  let documents: unknown;
  try {
    documents = JSON.parse(loaded.documents);
  } catch {
    return { ok: false, problem: 'policy.loaded documents are not JSON' };
  }
  const policy = (documents as { policy?: unknown } | null)?.policy;
  if (typeof policy !== 'object' || policy === null)
    return { ok: false, problem: 'policy.loaded carries no policy document' };
  const section = (policy as { gpu_watch?: unknown }).gpu_watch ?? {};
  const problems = schemaProblems(GpuWatchPolicySchema, section);
  if (problems.length > 0)
    return { ok: false, problem: `gpu_watch: ${problems.slice(0, 5).join('; ')}` };
  const g = section as GpuWatchPolicy;
  return {
    ok: true,
    settings: {
      policyDigest: loaded.digest,
      intervalMs: (g.interval_seconds ?? DEFAULT_INTERVAL_SECONDS) * 1000,
      sentinelMaxTokens: g.sentinel_max_tokens ?? DEFAULT_SENTINEL_MAX_TOKENS,
      weights: weightsOf(g.weights),
      disabled: g.disabled_probes ?? [],
      deviceAllowlist: g.device_allowlist ?? null,
    },
  };
}
