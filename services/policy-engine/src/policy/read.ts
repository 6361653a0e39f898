import { join, resolve } from 'node:path';
import { capProblems, readDocumentFile } from '@secai/contracts';
import { inFile, type PolicyProblem } from './errors.js';
import {
  KINDS,
  MAX_POLICY_FILE_BYTES,
  MAX_PROBLEMS,
  POLICY_FILE_NAMES,
  REQUIRED_KINDS,
  type Kind,
  type PolicyFileInput,
  type PolicyLoadResult,
} from './limits.js';
import { parseFiles } from './parse.js';

/**
 * Reads `<dir>/policy.yaml`, `<dir>/agent.yaml` and, when it exists, `<dir>/mcp.yaml`, and parses
 * them. A missing required file, or any unreadable, oversized or non-UTF-8 file, is a problem
 * (key path ''), not a throw.
 */
export async function loadPolicyDir(dir: string): Promise<PolicyLoadResult> {
  const root = resolve(dir);
  const inputs: PolicyFileInput[] = [];
  const problems: PolicyProblem[] = [];
  const unread = new Set<Kind>();
  for (const kind of KINDS) {
    const path = join(root, POLICY_FILE_NAMES[kind]);
    // Links are followed: operators keep policy directories under configuration management.
    const read = await readDocumentFile(path, {
      maxBytes: MAX_POLICY_FILE_BYTES,
      followSymlinks: true,
    });
    if (read.ok) inputs.push({ path, text: read.value });
    else if (
      !REQUIRED_KINDS.includes(kind) &&
      read.problems.every((p) => p.code === 'FILE_MISSING')
    ) {
      continue; // an optional document that is not there (mcp.yaml: no MCP server is known)
    } else {
      problems.push(...inFile(path, read.problems));
      unread.add(kind);
    }
  }
  // Parse what could be read all the same, so one run reports every problem.
  const parsed = parseFiles(inputs, unread);
  if (problems.length === 0) return parsed;
  const all = [...problems, ...(parsed.ok ? [] : parsed.problems)];
  return { ok: false, problems: capProblems(all, MAX_PROBLEMS) };
}
