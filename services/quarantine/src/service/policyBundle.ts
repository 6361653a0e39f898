import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { canonicalJson, schemaProblems, sha256Hex, type EventData } from '@secai/contracts';
import { DEFAULT_STATIC_SCAN_THRESHOLDS, parseStaticScanThresholds } from '../scan/thresholds.js';
import { FORMAT_LIMIT_BOUNDS, parseFormatLimits } from '../stages/formatLimits.js';
import { DEFAULT_YARA_RULES_PATH } from '../scan/yara.js';

/** The lock of pins and blocked hashes, beside the policy (optional: absent = no pins). */
export const MODELS_LOCK_FILE = 'models.lock.yaml';
const MAX_LOCK_BYTES = 4 * 1024 * 1024;

/**
 * The parts of the engine's `policy.yaml` the quarantine reads (POLICY.md: `quarantine.*` and
 * `models.require_signature`). The engine validated the whole document before it recorded it;
 * the quarantine checks again the keys it relies on, and leaves the rest to their owner (other
 * keys are allowed here, so a section the quarantine does not read never stops it).
 */
const Limit = (minimum: number, maximum?: number) =>
  Type.Optional(Type.Integer({ minimum, ...(maximum !== undefined ? { maximum } : {}) }));
export const QuarantinePolicySchema = Type.Object({
  models: Type.Object({ require_signature: Type.Boolean() }),
  quarantine: Type.Object({
    behavior_max_score: Type.Number({ minimum: 0, maximum: 1 }),
    behavior_max_critical: Type.Integer({ minimum: 0 }),
    behavior_max_degenerate_fraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    behavior_max_identical_fraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    stage_timeout_seconds: Limit(1),
    behavior_timeout_seconds: Limit(1),
    stage_memory_mib: Limit(1),
    provenance_keys: Type.Optional(
      Type.Array(Type.Object({ id: Type.String(), public_key_pem: Type.String() })),
    ),
    provenance_ca_certificates: Type.Optional(Type.Array(Type.String())),
    static_scan: Type.Optional(Type.Record(Type.String(), Type.Number())),
    format_gate: Type.Optional(Type.Record(Type.String(), Type.Number())),
    intake: Type.Optional(
      Type.Object({
        max_file_bytes: Limit(1),
        max_total_bytes: Limit(1),
        max_files: Limit(1),
        reserve_bytes: Limit(0),
      }),
    ),
  }),
});
export type QuarantinePolicy = Static<typeof QuarantinePolicySchema>;

/**
 * Everything a quarantine run is bound to: the engine's active policy (from its latest verified
 * `policy.loaded` event, never from its files), and the quarantine's own policy inputs, the
 * models lock and the YARA rules, which it reads itself. Its digest goes into
 * `quarantine.started`, so a run can say exactly which rules judged it, and a run whose bundle
 * changed under it is not silently continued.
 */
export interface PolicyBundle {
  /** `sha256:<hex>` over the engine's policy digest, the lock's bytes and the rules' bytes. */
  digest: string;
  /** The `policy.loaded` digest (what the engine's decisions cite as `evidence.policyDigest`). */
  policyDigest: string;
  policy: QuarantinePolicy;
  /** The lock's text, null when there is none; parsed (and judged) by the hash_pin stage. */
  lockText: string | null;
  /** `quarantine.static_scan` overrides, under the scanner's own (camelCase) names. */
  staticScan: Record<string, number>;
  /** `quarantine.format_gate` overrides of the readers' bounds, under their camelCase names. */
  formatLimits: Record<string, number>;
  rulesPath: string;
}

export type BundleLoad = { ok: true; bundle: PolicyBundle } | { ok: false; problem: string };

async function readOptional(path: string, max: number): Promise<string | null> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (buf.length > max) throw new Error(`${path} is larger than ${max} bytes`);
  return buf.toString('utf8');
}

/** The quarantine's reading of a `policy.loaded` event; any problem refuses it (fail closed). */
export function quarantinePolicyOf(
  loaded: Pick<EventData<'policy.loaded'>, 'digest' | 'documents'>,
): { ok: true; policy: QuarantinePolicy } | { ok: false; problem: string } {
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
  const problems = schemaProblems(QuarantinePolicySchema, policy);
  if (problems.length > 0)
    return { ok: false, problem: `policy.yaml: ${problems.slice(0, 5).join('; ')}` };
  return { ok: true, policy: policy as QuarantinePolicy };
}

/**
 * The bundle for the engine's active policy (null: none is active, so none is built) and the
 * quarantine's own files.
 */
export async function loadPolicyBundle(
  active: Pick<EventData<'policy.loaded'>, 'digest' | 'documents'> | null,
  lockDir: string,
  rulesPath = DEFAULT_YARA_RULES_PATH,
): Promise<BundleLoad> {
  if (active === null) return { ok: false, problem: 'no policy.loaded is active' };
  const read = quarantinePolicyOf(active);
  if (!read.ok) return read;
  const { static_scan, format_gate } = read.policy.quarantine;
  const staticScan = staticScanOverrides(static_scan);
  const checked = parseStaticScanThresholds(staticScan);
  if (!checked.ok)
    return { ok: false, problem: refusal('static_scan', static_scan, checked.key, checked.detail) };
  const formatLimits = formatLimitOverrides(format_gate);
  const bounds = parseFormatLimits(formatLimits);
  if (!bounds.ok)
    return { ok: false, problem: refusal('format_gate', format_gate, bounds.key, bounds.detail) };
  let lockText: string | null;
  let rules: string;
  try {
    lockText = await readOptional(join(lockDir, MODELS_LOCK_FILE), MAX_LOCK_BYTES);
    rules = await readFile(rulesPath, 'utf8');
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
  const digest = `sha256:${sha256Hex(
    canonicalJson({
      policy: active.digest,
      lock: lockText === null ? null : sha256Hex(lockText),
      rules: sha256Hex(rules),
    }),
  )}`;
  return {
    ok: true,
    bundle: {
      digest,
      policyDigest: active.digest,
      policy: read.policy,
      lockText,
      staticScan,
      formatLimits,
      rulesPath,
    },
  };
}

/**
 * Policy keys are snake_case (`entropy_max_bits_per_byte`, `gguf_max_tensors`); the stages' are
 * camelCase. Names are matched ignoring case and underscores; an unknown one is passed on as
 * given, so that validation names it.
 */
function camelOverrides(
  known: readonly string[],
  policy: Record<string, number> | undefined,
): Record<string, number> {
  const byFolded = new Map(known.map((k) => [k.toLowerCase(), k]));
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(policy ?? {}))
    out[byFolded.get(key.replace(/_/g, '').toLowerCase()) ?? key] = value;
  return out;
}

export function staticScanOverrides(
  policy: Record<string, number> | undefined,
): Record<string, number> {
  return camelOverrides(Object.keys(DEFAULT_STATIC_SCAN_THRESHOLDS), policy);
}

export function formatLimitOverrides(
  policy: Record<string, number> | undefined,
): Record<string, number> {
  return camelOverrides(Object.keys(FORMAT_LIMIT_BOUNDS), policy);
}

/**
 * A refused section's problem, naming the key as the policy spells it
 * (`quarantine.format_gate.gguf_max_tensors: ggufMaxTensors must be …`).
 */
function refusal(
  section: 'static_scan' | 'format_gate',
  policy: Record<string, number> | undefined,
  key: string | undefined,
  detail: string,
): string {
  const fold = (k: string): string => k.replace(/_/g, '').toLowerCase();
  const spelt =
    key === undefined
      ? undefined
      : Object.keys(policy ?? {}).find((k) => k === key || fold(k) === fold(key));
  return `quarantine.${section}${spelt === undefined ? '' : `.${spelt.slice(0, 64)}`}: ${detail}`;
}
