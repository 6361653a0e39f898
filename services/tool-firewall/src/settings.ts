import type { LoadedPolicy } from '@secai/streams';
import type { RateLimits } from './rateLimit.js';

// What the firewall reads from the active policy itself (the engine decides everything else):
// the rate limits the engine does not enforce (`tools.rate_limit`, POLICY.md), and, for
// `GET /api/v1/tools` only, which tools the policy names. Pure.

/** The reference's defaults, used when the policy has no `tools.rate_limit`. */
export const DEFAULT_RATE_LIMITS: RateLimits = { perMinute: 120, burst: 20 };

export interface ToolPolicyView {
  policyDigest: string;
  rateLimits: RateLimits;
  /** Tools with an allow entry, and the paths it allows (for display; the engine decides). */
  allowed: ReadonlyMap<string, readonly string[]>;
  denied: ReadonlySet<string>;
}

export type ToolPolicyRead = { ok: true; view: ToolPolicyView } | { ok: false; problem: string };

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * The tool settings of the active policy. No policy, or a `tools` section the firewall cannot
 * read, is a refusal: no call runs without a policy to run it under (fail closed).
 */
export function toolPolicyOf(active: LoadedPolicy | null): ToolPolicyRead {
  if (active === null) return { ok: false, problem: 'no policy is active' };
  let documents: unknown;
  try {
    documents = JSON.parse(active.documents);
  } catch {
    return { ok: false, problem: 'policy.loaded documents are not JSON' };
  }
  const tools = (documents as { policy?: { tools?: unknown } } | null)?.policy?.tools;
  if (tools === null || typeof tools !== 'object')
    return { ok: false, problem: 'the active policy has no tools section' };
  const t = tools as {
    allow?: unknown;
    deny?: unknown;
    rate_limit?: { requests_per_minute?: unknown; burst_size?: unknown } | null;
  };
  let rateLimits = DEFAULT_RATE_LIMITS;
  if (t.rate_limit !== undefined) {
    const r = t.rate_limit;
    if (!isInt(r?.requests_per_minute, 1, 1_000_000) || !isInt(r?.burst_size, 1, 1_000_000))
      return { ok: false, problem: 'tools.rate_limit is not two integers 1–1,000,000' };
    rateLimits = { perMinute: r.requests_per_minute, burst: r.burst_size };
  }
  const allowed = new Map<string, string[]>();
  for (const entry of Array.isArray(t.allow) ? (t.allow as unknown[]) : []) {
    const e = entry as { name?: unknown; paths_allowlist?: unknown };
    if (typeof e?.name !== 'string') continue;
    const paths = Array.isArray(e.paths_allowlist)
      ? e.paths_allowlist.filter((p): p is string => typeof p === 'string')
      : [];
    allowed.set(e.name, paths);
  }
  const denied = new Set<string>();
  for (const entry of Array.isArray(t.deny) ? (t.deny as unknown[]) : []) {
    const name = (entry as { name?: unknown })?.name;
    if (typeof name === 'string') denied.add(name);
  }
  return { ok: true, view: { policyDigest: active.digest, rateLimits, allowed, denied } };
}
