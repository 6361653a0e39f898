import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import {
  BaseError,
  canonicalJson,
  closed,
  loadStrictDocument,
  readDocumentFile,
  sha256Hex,
  summariseProblems,
  type DocumentLimits,
  type DocumentProblem,
} from '@secai/contracts';

// The attestation policy: one small YAML file owned by this service, loaded by the shared strict
// loader (unknown keys, wrong types, duplicate keys, aliases, tags, several documents: all refused
// with the key path). The service refuses to start on an invalid policy (fail closed).

export const POLICY_FILE_NAME = 'attestation.yaml';
/** Largest policy file accepted. */
export const MAX_POLICY_BYTES = 64 * 1024;
/** A flat six-line file: no anchors or aliases at all, one level of nesting (the PCR list). */
const LIMITS: DocumentLimits = { maxBytes: MAX_POLICY_BYTES, maxDepth: 2, maxAliases: 0 };
/** The shipped default (`services/runtime-attestor/policy/attestation.yaml`), from src/ and dist/. */
export const DEFAULT_POLICY_FILE = resolve(
  fileURLToPath(new URL(`../policy/${POLICY_FILE_NAME}`, import.meta.url)),
);

export const REQUIREMENTS = ['none', 'evaluation', 'hardware'] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

/** The file as written (snake_case keys). */
export const AttestationPolicyDocument = Type.Object(
  {
    version: Type.Literal(1),
    /** What attestation must prove for the boot gate to pass. */
    require: Type.Union(REQUIREMENTS.map((r) => Type.Literal(r))),
    /** SHA-256 bank PCR indexes quoted and compared with the enrolled baseline. */
    pcrs: Type.Array(Type.Integer({ minimum: 0, maximum: 23 }), {
      minItems: 1,
      maxItems: 24,
      uniqueItems: true,
    }),
    /** Periodic re-attestation (SECAI_ATTEST_INTERVAL_MS overrides it). */
    interval_seconds: Type.Integer({ minimum: 10, maximum: 86_400 }),
    /** Refuse (failed) when UEFI Secure Boot is off. PCR 7 binds its state anyway. */
    require_secure_boot: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type AttestationPolicyDocument = Static<typeof AttestationPolicyDocument>;

/** The policy as the service uses it. */
export interface AttestationPolicy {
  require: Requirement;
  /** Sorted ascending. */
  pcrs: number[];
  intervalSeconds: number;
  requireSecureBoot: boolean;
  /** `sha256:` over the canonical JSON of the document (comments and layout do not count). */
  digest: string;
}

/** The policy file cannot be used: every problem, each with its key path and code. */
export class PolicyError extends BaseError<'POLICY_INVALID'> {
  readonly problems: readonly DocumentProblem[];
  constructor(message: string, problems: readonly DocumentProblem[]) {
    super('POLICY_INVALID', message);
    this.problems = problems;
  }
}

/** Parses and validates a policy text. Pure. Returns the policy or every problem found. */
export function parsePolicy(
  text: string,
): { ok: true; policy: AttestationPolicy } | { ok: false; problems: DocumentProblem[] } {
  const loaded = loadStrictDocument(text, AttestationPolicyDocument, LIMITS);
  if (!loaded.ok) return loaded;
  const doc = loaded.value;
  return {
    ok: true,
    policy: {
      require: doc.require,
      pcrs: [...doc.pcrs].sort((a, b) => a - b),
      intervalSeconds: doc.interval_seconds,
      requireSecureBoot: doc.require_secure_boot ?? false,
      digest: `sha256:${sha256Hex(canonicalJson(doc))}`,
    },
  };
}

/**
 * The policy file in `dir`: the shipped default is copied there on the first start (never over
 * an existing file). Creates `dir` (0700) when it is missing. Returns where it is and whether it
 * was installed now.
 */
export async function ensurePolicyFile(dir: string): Promise<{ path: string; installed: boolean }> {
  const path = join(dir, POLICY_FILE_NAME);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const shipped = await readFile(DEFAULT_POLICY_FILE);
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(shipped);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { path, installed: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { path, installed: false };
    throw err;
  }
}

/** Reads and validates the policy file (regular file, no symlink, ≤ 64 KiB); throws `PolicyError`. */
export async function loadPolicyFile(path: string): Promise<AttestationPolicy> {
  const read = await readDocumentFile(path, { maxBytes: MAX_POLICY_BYTES });
  if (!read.ok)
    throw new PolicyError(
      `${path} cannot be read: ${summariseProblems(read.problems)}`,
      read.problems,
    );
  const parsed = parsePolicy(read.value);
  if (!parsed.ok)
    throw new PolicyError(
      `${path} is not a valid attestation policy: ${summariseProblems(parsed.problems)}`,
      parsed.problems,
    );
  return parsed.policy;
}
