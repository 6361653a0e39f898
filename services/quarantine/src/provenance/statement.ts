// The signed in-toto statement, checked against the OMS v1.0 predicate. Only ever called on a
// payload whose signature has verified: unauthenticated content is not interpreted.
import { createHash } from 'node:crypto';
import { parseIgnorePaths, type IgnorePaths } from './ignorePaths.js';
import { canonicalName } from './names.js';
import { LIMITS, OMS, fail, type Failure } from './types.js';

export interface SignedManifest {
  /** Resource name (POSIX, relative to the model root) → lowercase hex SHA-256. */
  resources: Map<string, string>;
  modelName: string;
  /** What the signer left out of the manifest (`serialization.ignore_paths`), checked. */
  ignorePaths: IgnorePaths;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** OMS's subject digest: SHA-256 over the resources' raw digests, in the order listed. */
export function manifestDigest(digestsHex: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const hex of digestsHex) hash.update(Buffer.from(hex, 'hex'));
  return hash.digest('hex');
}

function checkSerialization(value: unknown): { ok: true; ignorePaths: IgnorePaths } | Failure {
  if (!isRecord(value)) return fail('statement_invalid', 'predicate.serialization is missing');
  if (value.method !== 'files')
    return fail('predicate_unsupported', `serialization method ${String(value.method)}`);
  if (value.hash_type !== 'sha256')
    return fail('predicate_unsupported', `serialization hash_type ${String(value.hash_type)}`);
  const ignore = parseIgnorePaths(value.ignore_paths);
  return ignore.ok ? { ok: true, ignorePaths: ignore.paths } : ignore;
}

function readResources(
  list: unknown,
  kind: 'file' | 'directory',
): { ok: true; resources: Map<string, string>; order: string[] } | Failure {
  if (!Array.isArray(list) || list.length === 0)
    return fail('statement_invalid', 'predicate.resources is not a non-empty list');
  if (list.length > LIMITS.files)
    return fail('statement_invalid', `more than ${LIMITS.files} resources`);
  const resources = new Map<string, string>();
  const order: string[] = [];
  for (const item of list) {
    if (!isRecord(item)) return fail('statement_invalid', 'a resource is not an object');
    const { name, algorithm, digest } = item;
    if (algorithm !== 'sha256')
      return fail('predicate_unsupported', `resource digest algorithm ${String(algorithm)}`);
    if (typeof digest !== 'string' || !HEX64.test(digest))
      return fail('statement_invalid', 'a resource digest is not 64 hex digits');
    if (typeof name !== 'string' || !canonicalName(name, kind))
      return fail('statement_invalid', `resource name ${JSON.stringify(name)} is not canonical`);
    if (resources.has(name)) return fail('statement_invalid', `resource ${name} is listed twice`);
    resources.set(name, digest.toLowerCase());
    order.push(digest);
  }
  return { ok: true, resources, order };
}

/** Parses and checks the verified payload; returns the signed file manifest. */
export function checkStatement(
  payloadType: string,
  payload: Buffer,
  kind: 'file' | 'directory',
): ({ ok: true } & SignedManifest) | Failure {
  if (payloadType !== OMS.payloadType)
    return fail('statement_invalid', `payload type ${payloadType.slice(0, 80)}`);
  let statement: unknown;
  try {
    statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return fail('statement_invalid', 'the payload is not UTF-8 JSON');
  }
  if (!isRecord(statement) || statement._type !== OMS.statementType)
    return fail('statement_invalid', 'not an in-toto Statement v1');
  if (statement.predicateType !== OMS.predicateType)
    return fail(
      'predicate_unsupported',
      `predicate type ${String(statement.predicateType).slice(0, 100)}`,
    );
  const subjects = statement.subject;
  const subject: unknown = Array.isArray(subjects) && subjects.length === 1 ? subjects[0] : null;
  if (!isRecord(subject) || !isRecord(subject.digest))
    return fail('statement_invalid', 'the statement must have exactly one subject with a digest');
  const expected = subject.digest.sha256;
  if (typeof expected !== 'string' || !HEX64.test(expected))
    return fail('statement_invalid', 'the subject has no SHA-256 digest');
  const predicate = statement.predicate;
  if (!isRecord(predicate)) return fail('statement_invalid', 'the predicate is missing');
  const serialization = checkSerialization(predicate.serialization);
  if (!serialization.ok) return serialization;
  const read = readResources(predicate.resources, kind);
  if (!read.ok) return read;
  if (manifestDigest(read.order) !== expected.toLowerCase())
    return fail('statement_invalid', 'the subject digest does not match the listed resources');
  const modelName = typeof subject.name === 'string' ? subject.name.slice(0, 256) : '';
  return {
    ok: true,
    resources: read.resources,
    modelName,
    ignorePaths: serialization.ignorePaths,
  };
}
