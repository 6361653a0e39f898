import { Type, type Static } from '@sinclair/typebox';
// The document loader alone: a stage worker should not load the identity and envelope code.
import {
  formatProblem,
  loadStrictDocument,
  type DocumentLimits,
  type DocumentProblem,
} from '@secai/contracts/documents';
import type { StageVerdict } from './verdict.js';

const closed = { additionalProperties: false } as const;
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** `models.lock.yaml`: pins by file name and a block list by hash (policy, edited by the operator). */
export const ModelsLockSchema = Type.Object(
  {
    version: Type.Literal(1),
    models: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 256 }),
          format: Type.Union([
            Type.Literal('gguf'),
            Type.Literal('safetensors'),
            Type.Literal('diffusion-directory'),
          ]),
          /** Where the pinned artifact comes from (`https://…`). */
          source: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https://' }),
          filename: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\\\x00]+$' }),
          sha256: Hex64,
          size_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
          /** An immutable revision (40 hex): the download URL must then be exactly `<source>/resolve/<revision>/<filename>`. */
          revision: Type.Optional(Type.String({ pattern: '^[0-9a-f]{40}$' })),
          blocked: Type.Optional(Type.Boolean()),
          blocked_reason: Type.Optional(Type.String({ maxLength: 512 })),
        },
        closed,
      ),
      { maxItems: 10_000 },
    ),
  },
  closed,
);
export type ModelsLock = Static<typeof ModelsLockSchema>;

export type LockLoad = { ok: true; lock: ModelsLock } | { ok: false; problems: DocumentProblem[] };

/** As large as the quarantine reads the lock (4 MiB), nested four levels; aliases may reuse a source. */
const LOCK_LIMITS: DocumentLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 6, maxAliases: 32 };

/**
 * Parses the lock strictly. Unlike the original, a malformed lock is not "empty": that would
 * silently drop the block list and let a blocked model in as a local first install. It fails the
 * stage for everything until it is fixed.
 */
export function parseModelsLock(text: string): LockLoad {
  const loaded = loadStrictDocument(text, ModelsLockSchema, LOCK_LIMITS);
  return loaded.ok ? { ok: true, lock: loaded.value } : loaded;
}

export interface PinCheck {
  passed: boolean;
  /** As `quarantine.completed.pin` records it. */
  status: 'pinned' | 'first_use' | 'unpinned' | 'mismatch' | 'blocked';
  reasonCode: string;
  detail: string;
}

/**
 * Stage 3 for one artifact (semantics of reference §2.3.1): the block list first, keyed by hash
 * so renaming cannot bypass it (local imports included); then the pin by file name (two pins with
 * different hashes for one name count as no pin); a pinned download must also come from exactly
 * the pinned source; an unpinned download fails; an unpinned local import is a recorded first use.
 */
export function checkHashPin(
  lock: ModelsLock,
  artifact: { filename: string; sha256: string; sourceUrl: string | null },
): PinCheck {
  const sha = artifact.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha))
    return {
      passed: false,
      status: 'mismatch',
      reasonCode: 'hash_invalid',
      detail: 'the artifact digest is not a SHA-256',
    };
  const blocked = lock.models.find((m) => m.blocked === true && m.sha256 === sha);
  if (blocked) {
    return {
      passed: false,
      status: 'blocked',
      reasonCode: 'blocked',
      detail: `blocked by policy: ${blocked.blocked_reason ?? blocked.name}`,
    };
  }
  const pins = lock.models.filter((m) => m.filename === artifact.filename && m.blocked !== true);
  const hashes = new Set(pins.map((m) => m.sha256));
  const pin = hashes.size === 1 ? pins[0] : undefined;
  const remote = artifact.sourceUrl !== null;
  if (!pin) {
    const ambiguous = hashes.size > 1 ? ' (ambiguous: several pins disagree)' : '';
    return remote
      ? {
          passed: false,
          status: 'unpinned',
          reasonCode: 'remote_unpinned',
          detail: `a downloaded artifact needs a pinned hash${ambiguous}`,
        }
      : {
          passed: true,
          status: 'first_use',
          reasonCode: 'first_use',
          detail: `local first install: hash recorded, not pinned${ambiguous}`,
        };
  }
  if (remote && !sourceMatches(artifact.sourceUrl!, pin)) {
    return {
      passed: false,
      status: 'mismatch',
      reasonCode: 'source_mismatch',
      detail: 'the download does not come from the pinned source',
    };
  }
  if (pin.sha256 !== sha) {
    return {
      passed: false,
      status: 'mismatch',
      reasonCode: 'hash_mismatch',
      detail: `expected ${pin.sha256.slice(0, 16)}…, got ${sha.slice(0, 16)}…`,
    };
  }
  return {
    passed: true,
    status: 'pinned',
    reasonCode: 'pinned_match',
    detail: `matches the pin of ${pin.name}`,
  };
}

function sourceMatches(url: string, pin: ModelsLock['models'][number]): boolean {
  let got: URL;
  let want: URL;
  try {
    got = new URL(url);
    want = new URL(pin.source);
  } catch {
    return false;
  }
  if (
    got.protocol !== 'https:' ||
    got.host !== want.host ||
    got.username ||
    got.password ||
    got.search ||
    got.hash
  )
    return false;
  const base = want.pathname.replace(/\/+$/, '');
  if (pin.revision) return got.pathname === `${base}/resolve/${pin.revision}/${pin.filename}`;
  return got.pathname === base || got.pathname.startsWith(`${base}/`);
}

/** What the hash_pin stage is given: the lock's text (null: the policy has none) and the artifact. */
export interface HashPinInput {
  lockText: string | null;
  filename: string;
  sha256: string;
  sourceUrl: string | null;
}

/**
 * The stage's verdict: the lock parsed strictly (a broken lock is not an empty one: that would
 * drop the block list), then `checkHashPin`. Fact `pin`: the status, or `not_checked`.
 */
export function hashPinVerdict(input: HashPinInput): StageVerdict {
  const lock =
    input.lockText === null
      ? { ok: true as const, lock: { version: 1 as const, models: [] } }
      : parseModelsLock(input.lockText);
  if (!lock.ok)
    return {
      passed: false,
      reasonCode: 'lock_invalid',
      detail: `models.lock.yaml is invalid: ${lock.problems.slice(0, 3).map(formatProblem).join('; ')}`,
      facts: { pin: 'not_checked' },
    };
  const check = checkHashPin(lock.lock, input);
  return {
    passed: check.passed,
    reasonCode: check.reasonCode,
    detail: check.detail,
    facts: { pin: check.status },
  };
}
