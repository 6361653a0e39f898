import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  BaseError,
  INCIDENT_SEVERITIES,
  canonicalJson,
  schemaProblems,
  sha256Hex,
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
const MAX_ALIASES = 32;

export type IncidentPolicyErrorCode = 'POLICY_INVALID' | 'POLICY_UNREADABLE';

/** The incident policy cannot be used: every problem, each with where it is. */
export class IncidentPolicyError extends BaseError<IncidentPolicyErrorCode> {
  readonly problems: readonly string[];
  constructor(code: IncidentPolicyErrorCode, message: string, problems: readonly string[] = []) {
    super(code, problems.length > 0 ? `${message}: ${problems.join('; ')}` : message);
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
  { ok: true; policy: IncidentPolicy; digest: string } | { ok: false; problems: string[] };

const rank = (s: string) => (INCIDENT_SEVERITIES as readonly string[]).indexOf(s);

function semanticProblems(doc: IncidentPolicyDocument): string[] {
  const problems: string[] = [];
  const unique = (what: string, ids: string[]) => {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) problems.push(`${what}: id ${id} appears twice`);
      seen.add(id);
    }
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
      problems.push(
        `escalation[${i}].to: ${e.to} is not above ${e.class}'s severity ${base}, so it never fires`,
      );
  });
  return problems;
}

/** Parses and validates the policy text. Pure: never throws, reports every problem. */
export function parseIncidentPolicy(text: string): ParseResult {
  let docs;
  try {
    docs = parseAllDocuments(text, {
      uniqueKeys: true,
      strict: true,
      prettyErrors: true,
      schema: 'core',
    });
  } catch (err) {
    return { ok: false, problems: [`not YAML: ${(err as Error).message}`] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length !== 1) return { ok: false, problems: ['expected exactly one YAML document'] };
  const doc = list[0]!;
  const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => e.message.split('\n')[0]!);
  if (yamlProblems.length > 0) return { ok: false, problems: yamlProblems };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
  const problems = schemaProblems(IncidentPolicySchema, value);
  if (problems.length > 0) return { ok: false, problems };
  const document = value as IncidentPolicyDocument;
  const semantic = semanticProblems(document);
  if (semantic.length > 0) return { ok: false, problems: semantic };
  return {
    ok: true,
    policy: fromDocument(document),
    digest: `sha256:${sha256Hex(canonicalJson(document))}`,
  };
}

async function readBounded(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    throw new IncidentPolicyError(
      'POLICY_UNREADABLE',
      `${path} cannot be opened: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new IncidentPolicyError('POLICY_UNREADABLE', `${path} is not a file`);
    if (info.size > MAX_POLICY_FILE_BYTES)
      throw new IncidentPolicyError(
        'POLICY_UNREADABLE',
        `${path} is larger than ${MAX_POLICY_FILE_BYTES} bytes`,
      );
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
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
  try {
    return parseIncidentPolicy(await readBounded(path));
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
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
