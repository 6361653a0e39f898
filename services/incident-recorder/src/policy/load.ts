import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BaseError,
  INCIDENT_SEVERITIES,
  canonicalJson,
  loadStrictDocument,
  readDocumentFile,
  sha256Hex,
  summariseProblems,
  type DocumentLimits,
  type DocumentProblem,
} from '@secai/contracts';
import {
  IncidentPolicySchema,
  fromDocument,
  type IncidentPolicy,
  type IncidentPolicyDocument,
} from './schema.js';

/** The file this service owns in the policy directory. */
export const POLICY_FILE_NAME = 'incidents.yaml';
/** The policy the appliance ships (`services/incident-recorder/policy`), from `src/` and `dist/`. */
export const DEFAULT_POLICY_FILE = resolve(
  fileURLToPath(new URL(`../../policy/${POLICY_FILE_NAME}`, import.meta.url)),
);
export const MAX_POLICY_FILE_BYTES = 256 * 1024;
/** The document nests four levels (classes.<class>.actions[i]); aliases may reuse a list. */
const LIMITS: DocumentLimits = { maxBytes: MAX_POLICY_FILE_BYTES, maxDepth: 8, maxAliases: 32 };

export type IncidentPolicyErrorCode = 'POLICY_INVALID' | 'POLICY_UNREADABLE';

/** The incident policy cannot be used: every problem, each with its key path and code. */
export class IncidentPolicyError extends BaseError<IncidentPolicyErrorCode> {
  readonly problems: readonly DocumentProblem[];
  constructor(
    code: IncidentPolicyErrorCode,
    message: string,
    problems: readonly DocumentProblem[] = [],
  ) {
    super(code, problems.length > 0 ? `${message}: ${summariseProblems(problems)}` : message);
    this.problems = problems;
  }
}

export interface LoadedPolicy {
  policy: IncidentPolicy;
  /** `sha256:` over the canonical JSON of the document (comments and layout do not change it). */
  digest: string;
  path: string;
}

export type ParseResult =
  { ok: true; policy: IncidentPolicy; digest: string } | { ok: false; problems: DocumentProblem[] };

const rank = (s: string) => (INCIDENT_SEVERITIES as readonly string[]).indexOf(s);

/** Rules the schema cannot say: unique rule ids, and escalations that can fire. */
function semanticProblems(doc: IncidentPolicyDocument): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const unique = (list: 'deny_bursts' | 'escalation', ids: string[]) => {
    const seen = new Map<string, number>();
    ids.forEach((id, i) => {
      const first = seen.get(id);
      if (first === undefined) seen.set(id, i);
      else
        problems.push({
          path: `${list}[${i}].id`,
          code: 'RULE_ID_DUPLICATE',
          message: `id ${id} appears twice (also ${list}[${first}].id)`,
        });
    });
  };
  unique(
    'deny_bursts',
    doc.deny_bursts.map((b) => b.id),
  );
  unique(
    'escalation',
    doc.escalation.map((e) => e.id),
  );
  doc.escalation.forEach((e, i) => {
    const base = doc.classes[e.class].severity;
    if (rank(e.to) <= rank(base))
      problems.push({
        path: `escalation[${i}].to`,
        code: 'ESCALATION_NEVER_FIRES',
        message: `${e.to} is not above ${e.class}'s severity ${base}, so it never fires`,
      });
  });
  return problems;
}

/** Parses and validates the policy text. Pure: never throws, reports every problem. */
export function parseIncidentPolicy(text: string): ParseResult {
  const loaded = loadStrictDocument(text, IncidentPolicySchema, LIMITS);
  if (!loaded.ok) return loaded;
  const document = loaded.value;
  const semantic = semanticProblems(document);
  if (semantic.length > 0) return { ok: false, problems: semantic };
  return {
    ok: true,
    policy: fromDocument(document),
    digest: `sha256:${sha256Hex(canonicalJson(document))}`,
  };
}

/** The file's text, or `POLICY_UNREADABLE` (missing, a link, not a file, too large, not UTF-8). */
async function readBounded(path: string): Promise<string> {
  const read = await readDocumentFile(path, { maxBytes: MAX_POLICY_FILE_BYTES });
  if (!read.ok) {
    throw new IncidentPolicyError('POLICY_UNREADABLE', `${path} cannot be read`, read.problems);
  }
  return read.value;
}

/**
 * Reads `<dir>/incidents.yaml`; a missing file is first copied from the shipped default (never
 * overwriting one that exists). Invalid or unreadable: `IncidentPolicyError` (fail closed).
 */
export async function loadIncidentPolicy(
  dir: string,
): Promise<LoadedPolicy & { created: boolean }> {
  const path = join(dir, POLICY_FILE_NAME);
  let created = false;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await copyFile(DEFAULT_POLICY_FILE, path, fsConstants.COPYFILE_EXCL);
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const result = parseIncidentPolicy(await readBounded(path));
  if (!result.ok)
    throw new IncidentPolicyError(
      'POLICY_INVALID',
      `${path} is not a valid incident policy`,
      result.problems,
    );
  return { policy: result.policy, digest: result.digest, path, created };
}

/** Reads and parses the policy file again (a reload): every problem, never a throw. */
export async function readIncidentPolicy(path: string): Promise<ParseResult> {
  const read = await readDocumentFile(path, { maxBytes: MAX_POLICY_FILE_BYTES });
  return read.ok ? parseIncidentPolicy(read.value) : read;
}

/** The shipped default, parsed (tests, tools). */
export async function defaultIncidentPolicy(): Promise<LoadedPolicy> {
  const result = parseIncidentPolicy(await readBounded(DEFAULT_POLICY_FILE));
  if (!result.ok)
    throw new IncidentPolicyError(
      'POLICY_INVALID',
      'the shipped incident policy is invalid',
      result.problems,
    );
  return { policy: result.policy, digest: result.digest, path: DEFAULT_POLICY_FILE };
}
