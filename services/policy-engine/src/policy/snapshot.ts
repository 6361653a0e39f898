import { canonicalJson, capProblems, sha256Hex } from '@secai/contracts';
import { PolicyError, type PolicyProblem } from './errors.js';
import {
  KINDS,
  MAX_CANONICAL_DOCUMENTS_LENGTH,
  MAX_PROBLEMS,
  POLICY_FILE_NAMES,
  REQUIRED_KINDS,
} from './limits.js';
import type { PolicyDocuments, PolicySnapshot } from './schema.js';
import { validatePolicyDocument } from './validate.js';

/**
 * The snapshot of validated documents: their digest is over the canonical JSON, so formatting
 * and comments do not change it, content does.
 */
export function buildSnapshot(
  canonicalDocuments: string,
  files: PolicySnapshot['files'],
): PolicySnapshot {
  // The documents are re-read from their canonical form, so a snapshot loaded from files and one
  // rebuilt from a `policy.loaded` event are the same plain data.
  const documents = JSON.parse(canonicalDocuments) as PolicyDocuments;
  return deepFreeze({
    digest: `sha256:${sha256Hex(canonicalDocuments)}`,
    version: documents.policy.version,
    documents,
    canonicalDocuments,
    files,
  });
}

const WHOLE = 'canonicalDocuments';

/**
 * Rebuilds a snapshot from the canonical documents a `policy.loaded` event carries (for replay):
 * every document is validated again and the digest recomputed. The input must be exactly the
 * canonical form; when `expectedDigest` is given (the event's `digest`) it must match too.
 * Throws `PolicyError` (`POLICY_INVALID`, or `POLICY_TOO_LARGE`) with every problem found.
 */
export function snapshotFromDocuments(
  canonicalDocuments: string,
  expectedDigest?: string,
): PolicySnapshot {
  const whole = (code: string, message: string): PolicyProblem[] => [
    { file: WHOLE, path: '', code, message },
  ];
  if (typeof canonicalDocuments !== 'string') {
    throw new PolicyError(
      'POLICY_INVALID',
      'policy documents must be a string',
      whole('NOT_TEXT', 'not a string'),
    );
  }
  if (canonicalDocuments.length > MAX_CANONICAL_DOCUMENTS_LENGTH) {
    const message = `${canonicalDocuments.length} characters; the limit is ${MAX_CANONICAL_DOCUMENTS_LENGTH}`;
    throw new PolicyError(
      'POLICY_TOO_LARGE',
      `policy documents too large: ${message}`,
      whole('TOO_LARGE', message),
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(canonicalDocuments);
  } catch (err) {
    const message = `not valid JSON: ${(err as Error).message}`;
    throw new PolicyError(
      'POLICY_INVALID',
      `policy documents are ${message}`,
      whole('NOT_CANONICAL', message),
      { cause: err },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PolicyError(
      'POLICY_INVALID',
      'policy documents must be an object',
      whole('TYPE_MISMATCH', 'expected {"agent":…,"policy":…} (and optionally "mcp")'),
    );
  }
  const docs = parsed as Record<string, unknown>;
  const problems: PolicyProblem[] = [];
  for (const key of Object.keys(docs)) {
    if (!(KINDS as readonly string[]).includes(key)) {
      problems.push({ file: WHOLE, path: key, code: 'KEY_UNKNOWN', message: 'unknown document' });
    }
  }
  for (const kind of KINDS) {
    if (!REQUIRED_KINDS.includes(kind) && !(kind in docs)) continue;
    problems.push(...validatePolicyDocument(kind, docs[kind], POLICY_FILE_NAMES[kind]));
  }
  if (problems.length > 0) {
    throw new PolicyError(
      'POLICY_INVALID',
      `policy documents are invalid (${problems.length} problems)`,
      capProblems(problems, MAX_PROBLEMS),
    );
  }
  const documents =
    'mcp' in docs
      ? { agent: docs['agent'], mcp: docs['mcp'], policy: docs['policy'] }
      : { agent: docs['agent'], policy: docs['policy'] };
  if (canonicalJson(documents) !== canonicalDocuments) {
    throw new PolicyError(
      'POLICY_INVALID',
      'policy documents are not in canonical form',
      whole(
        'NOT_CANONICAL',
        'not canonical JSON (sorted keys, no whitespace): it cannot be the text its digest was computed over',
      ),
    );
  }
  const snapshot = buildSnapshot(canonicalDocuments, []);
  if (expectedDigest !== undefined && snapshot.digest !== expectedDigest) {
    throw new PolicyError(
      'POLICY_INVALID',
      `policy documents digest to ${snapshot.digest}, expected ${expectedDigest}`,
      whole(
        'DIGEST_MISMATCH',
        `digest mismatch: the documents digest to ${snapshot.digest}, expected ${expectedDigest}`,
      ),
    );
  }
  return snapshot;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
