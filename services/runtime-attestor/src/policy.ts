import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { parseAllDocuments } from 'yaml';
import { canonicalJson, closed, schemaProblems, sha256Hex } from '@secai/contracts';

// The attestation policy: one small YAML file owned by this service, validated strictly (unknown
// keys, wrong types, duplicate keys, aliases, tags, several documents: all refused with the key
// path). The service refuses to start on an invalid policy (fail closed).

export const POLICY_FILE_NAME = 'attestation.yaml';
/** Largest policy file accepted. */
export const MAX_POLICY_BYTES = 64 * 1024;
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

export class PolicyError extends Error {
  readonly code = 'POLICY_INVALID';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'PolicyError';
  }
}

const YAML_OPTIONS = {
  version: '1.2',
  schema: 'core',
  merge: false,
  uniqueKeys: true,
  stringKeys: true,
  strict: true,
  resolveKnownTags: false,
  prettyErrors: false,
  logLevel: 'silent',
} as const;

/**
 * Parses and validates a policy text. Pure. Returns the policy or every problem found
 * (`<key path>: <message>`).
 */
export function parsePolicy(
  text: string,
): { ok: true; policy: AttestationPolicy } | { ok: false; problems: string[] } {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES)
    return { ok: false, problems: [`/: larger than ${MAX_POLICY_BYTES} bytes`] };
  let value: unknown;
  try {
    const docs = parseAllDocuments(text, YAML_OPTIONS);
    if (!Array.isArray(docs) || docs.length !== 1)
      return { ok: false, problems: ['/: exactly one YAML document is expected'] };
    const doc = docs[0]!;
    const issues = [...doc.errors, ...doc.warnings].map(
      (e) => `/: YAML ${e.code}: ${e.message.split('\n')[0] ?? ''}`,
    );
    if (issues.length > 0) return { ok: false, problems: issues };
    // No aliases at all: a six-line file has no use for them.
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    return { ok: false, problems: [`/: YAML could not be read: ${(err as Error).message}`] };
  }
  const problems = schemaProblems(AttestationPolicyDocument, value);
  if (problems.length > 0) return { ok: false, problems };
  const doc = value as AttestationPolicyDocument;
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
  let text: string;
  try {
    const handle = await open(
      path,
      fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK,
    );
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new PolicyError(`${path} is not a regular file`, []);
      if (stat.size > MAX_POLICY_BYTES)
        throw new PolicyError(`${path} is larger than ${MAX_POLICY_BYTES} bytes`, []);
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new PolicyError(`${path} cannot be read (${code})`, []);
  }
  const parsed = parsePolicy(text);
  if (!parsed.ok)
    throw new PolicyError(
      `${path} is not a valid attestation policy: ${parsed.problems.join('; ')}`,
      parsed.problems,
    );
  return parsed.policy;
}
