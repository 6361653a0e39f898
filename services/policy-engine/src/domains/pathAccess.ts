import { normalizePath, normalizePattern, pathUnder } from '../match/index.js';
import { Trace, type Verdict } from '../decision.js';
import type { AgentPolicy } from '../policy/index.js';

/**
 * `path_access`: may the agent read (or write) this path? Write scope does not grant read and
 * read scope does not grant write; matching is boundary-aware after lexical normalisation, and
 * encoded or look-alike traversal is refused before any matching.
 */
export function decidePathAccess(
  rawPath: string,
  access: 'read' | 'write',
  agent: AgentPolicy,
): Verdict {
  const trace = new Trace();
  const normalized = normalizePath(rawPath);
  if (!normalized.ok)
    return trace.conclude('deny', 'path.refused', `path refused: ${normalized.refusal}`);
  trace.miss('path.refused', 'path is well formed');
  const scope = access === 'write' ? 'writable' : 'readable';
  const roots = agent.workspace[scope];
  const hit = roots.find((p) => pathUnder(normalized.path, normalizePattern(p)));
  if (hit)
    return trace.conclude('allow', `agent.workspace.${scope}`, `path is under ${scope} ${hit}`);
  return trace.conclude('deny', `agent.workspace.${scope}_miss`, `path is under no ${scope} root`);
}
