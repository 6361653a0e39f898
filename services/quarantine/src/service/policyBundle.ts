import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256Hex } from '@secai/contracts';
import { formatPolicyProblem, loadPolicyDir, type MainPolicy } from '@secai/policy-engine';
import { DEFAULT_STATIC_SCAN_THRESHOLDS, parseStaticScanThresholds } from '../scan/thresholds.js';
import { DEFAULT_YARA_RULES_PATH } from '../scan/yara.js';

/** The lock of pins and blocked hashes, beside the policy (optional: absent = no pins). */
export const MODELS_LOCK_FILE = 'models.lock.yaml';
const MAX_LOCK_BYTES = 4 * 1024 * 1024;

/**
 * Everything a quarantine run is bound to: the policy documents, the models lock and the YARA
 * rules. Its digest goes into `quarantine.started`, so a run can say exactly which rules judged
 * it, and a run whose bundle changed under it is not silently continued.
 */
export interface PolicyBundle {
  /** `sha256:<hex>` over the policy digest, the lock's bytes and the rules' bytes. */
  digest: string;
  policyDigest: string;
  policy: MainPolicy;
  /** The lock's text, null when there is none; parsed (and judged) by the hash_pin stage. */
  lockText: string | null;
  /** `quarantine.static_scan` overrides, under the scanner's own (camelCase) names. */
  staticScan: Record<string, number>;
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

/** Loads the bundle; any problem refuses it (the service then runs no stage: fail closed). */
export async function loadPolicyBundle(
  policyDir: string,
  rulesPath = DEFAULT_YARA_RULES_PATH,
): Promise<BundleLoad> {
  const loaded = await loadPolicyDir(policyDir);
  if (!loaded.ok)
    return {
      ok: false,
      problem: loaded.problems.slice(0, 5).map(formatPolicyProblem).join('; '),
    };
  const staticScan = staticScanOverrides(loaded.snapshot.documents.policy.quarantine.static_scan);
  const checked = parseStaticScanThresholds(staticScan);
  if (!checked.ok) return { ok: false, problem: `quarantine.static_scan: ${checked.detail}` };
  let lockText: string | null;
  let rules: string;
  try {
    lockText = await readOptional(join(policyDir, MODELS_LOCK_FILE), MAX_LOCK_BYTES);
    rules = await readFile(rulesPath, 'utf8');
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
  const digest = `sha256:${sha256Hex(
    canonicalJson({
      policy: loaded.snapshot.digest,
      lock: lockText === null ? null : sha256Hex(lockText),
      rules: sha256Hex(rules),
    }),
  )}`;
  return {
    ok: true,
    bundle: {
      digest,
      policyDigest: loaded.snapshot.digest,
      policy: loaded.snapshot.documents.policy,
      lockText,
      staticScan,
      rulesPath,
    },
  };
}

/**
 * Policy keys are snake_case (`entropy_max_bits_per_byte`, `pickle_opcodes_per_mib`); the
 * scanner's are camelCase. Names are matched ignoring case and underscores; an unknown one is
 * passed on as given, so that validation names it.
 */
export function staticScanOverrides(
  policy: Record<string, number> | undefined,
): Record<string, number> {
  const byFolded = new Map(
    Object.keys(DEFAULT_STATIC_SCAN_THRESHOLDS).map((k) => [k.toLowerCase(), k]),
  );
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(policy ?? {}))
    out[byFolded.get(key.replace(/_/g, '').toLowerCase()) ?? key] = value;
  return out;
}
