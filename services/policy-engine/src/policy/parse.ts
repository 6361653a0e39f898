import { basename } from 'node:path';
import { canonicalJson, capProblems, parseStrictYaml, sha256Hex } from '@secai/contracts';
import { inFile, type PolicyProblem } from './errors.js';
import {
  KINDS,
  MAX_CANONICAL_DOCUMENTS_LENGTH,
  MAX_PROBLEMS,
  POLICY_DOCUMENT_LIMITS,
  POLICY_FILE_NAMES,
  REQUIRED_KINDS,
  type Kind,
  type PolicyFileInput,
  type PolicyLoadResult,
} from './limits.js';
import { buildSnapshot } from './snapshot.js';
import { validatePolicyDocument } from './validate.js';

// Parsing the policy: the files recognised by name (policy.yaml, agent.yaml, optional mcp.yaml), each read as strict YAML by the shared
// loader, both validated against the closed schemas plus the semantic rules, every problem
// collected with its file and key path. The original parsed leniently, ignored unknown keys, read
// keys its own files did not have, failed open on missing sections and hashed raw bytes.

/**
 * Parses and validates the policy documents (policy.yaml, agent.yaml, and mcp.yaml when given).
 * Pure: no I/O, no clock. Never throws; every problem in every file is reported, each with the key
 * path it concerns.
 */
export function parsePolicyDocuments(files: readonly PolicyFileInput[]): PolicyLoadResult {
  return parseFiles(files, new Set());
}

const WHAT_A_POLICY_IS = 'a policy is policy.yaml and agent.yaml, and optionally mcp.yaml';

/** Fails closed on anything unforeseen: a problem, never an exception. */
export function parseFiles(
  files: readonly PolicyFileInput[],
  alreadyReported: ReadonlySet<Kind>,
): PolicyLoadResult {
  try {
    return parseFilesUnsafe(files, alreadyReported);
  } catch (err) {
    return {
      ok: false,
      problems: [
        {
          // Name a real file: `policy.load.failed` requires an absolute path when there is one.
          file: files[0]?.path ?? POLICY_FILE_NAMES.policy,
          path: '',
          code: 'LOAD_FAILED',
          message: `the policy could not be loaded: ${(err as Error).message}`,
        },
      ],
    };
  }
}

function parseFilesUnsafe(
  files: readonly PolicyFileInput[],
  alreadyReported: ReadonlySet<Kind>,
): PolicyLoadResult {
  const { problems, byKind } = recognise(files, alreadyReported);
  const accepted = files.filter((f) => [...byKind.values()].includes(f));
  const values = new Map<Kind, unknown>();
  for (const [kind, f] of byKind) {
    const read = parseStrictYaml(f.text, POLICY_DOCUMENT_LIMITS);
    if (!read.ok) {
      problems.push(...inFile(f.path, read.problems));
      continue;
    }
    const docProblems = validatePolicyDocument(kind, read.value, f.path);
    problems.push(...docProblems);
    if (docProblems.length === 0) values.set(kind, read.value);
  }
  const policy = values.get('policy');
  const agent = values.get('agent');
  const mcp = values.get('mcp');
  // (Both are always there when there is no problem, unless the caller reported one already.)
  if (problems.length > 0 || policy === undefined || agent === undefined) {
    return { ok: false, problems: capProblems(problems, MAX_PROBLEMS) };
  }

  // Without mcp.yaml the documents are exactly what they were before it existed, so the digest of
  // a two-file policy does not change.
  const canonicalDocuments = canonicalJson(
    mcp === undefined ? { agent, policy } : { agent, mcp, policy },
  );
  if (canonicalDocuments.length > MAX_CANONICAL_DOCUMENTS_LENGTH) {
    return {
      ok: false,
      problems: accepted.map((f) => ({
        file: f.path,
        path: '',
        code: 'TOO_LARGE',
        message: `too large: the canonical documents are ${canonicalDocuments.length} characters; the limit is ${MAX_CANONICAL_DOCUMENTS_LENGTH}`,
      })),
    };
  }
  const fileInfo = accepted.map((f) => ({
    path: f.path,
    digest: `sha256:${sha256Hex(f.text)}`,
    sizeBytes: Buffer.byteLength(f.text, 'utf8'),
  }));
  return { ok: true, snapshot: buildSnapshot(canonicalDocuments, fileInfo) };
}

/**
 * Each input file as policy.yaml, agent.yaml or mcp.yaml; anything else, a file twice or a
 * required one missing is a problem.
 */
function recognise(
  files: readonly PolicyFileInput[],
  alreadyReported: ReadonlySet<Kind>,
): { problems: PolicyProblem[]; byKind: Map<Kind, PolicyFileInput> } {
  const problems: PolicyProblem[] = [];
  const byKind = new Map<Kind, PolicyFileInput>();
  for (const f of files) {
    const name = basename(f.path);
    const kind = KINDS.find((k) => POLICY_FILE_NAMES[k] === name);
    if (kind === undefined) {
      problems.push({
        file: f.path,
        path: '',
        code: 'FILE_UNEXPECTED',
        message: `unexpected policy file ${JSON.stringify(name)}: ${WHAT_A_POLICY_IS}`,
      });
      continue;
    }
    const previous = byKind.get(kind);
    if (previous !== undefined) {
      problems.push({
        file: f.path,
        path: '',
        code: 'FILE_DUPLICATE',
        message: `${name} is given twice (also as ${previous.path})`,
      });
      continue;
    }
    byKind.set(kind, f);
  }
  for (const kind of REQUIRED_KINDS) {
    if (!byKind.has(kind) && !alreadyReported.has(kind)) {
      const name = POLICY_FILE_NAMES[kind];
      problems.push({
        file: name,
        path: '',
        code: 'FILE_MISSING',
        message: `${name} is missing: ${WHAT_A_POLICY_IS}`,
      });
    }
  }
  return { problems, byKind };
}
