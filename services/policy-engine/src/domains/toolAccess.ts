import { normalizePath, normalizePattern, pathUnder } from '../match/index.js';
import { Trace, type Verdict } from '../decision.js';
import type { MainPolicy } from '../policy/index.js';

/**
 * `tool_access`: is this tool allowed, for this path? Deny list first; then the tool's allow
 * entry (default deny: a tool without one is denied); a path, when given or required by the
 * entry, must survive normalisation, miss the denylist and hit the allowlist.
 */
export function decideToolAccess(
  tool: string,
  rawPath: string | null,
  policy: MainPolicy,
): Verdict {
  const trace = new Trace();
  if (policy.tools.deny.some((d) => d.name === tool)) {
    return trace.conclude('deny', `tools.deny.${tool}`, `tool ${tool} is on the deny list`);
  }
  trace.miss('tools.deny', 'tool is not on the deny list');

  const entry = policy.tools.allow.find((a) => a.name === tool);
  if (!entry)
    return trace.conclude(
      'deny',
      'tools.default_deny',
      'no allow entry for this tool (default deny)',
    );
  trace.miss('tools.default_deny', `tool ${tool} has an allow entry`);

  const allowlist = entry.paths_allowlist ?? [];
  const denylist = entry.paths_denylist ?? [];
  if (rawPath === null) {
    if (allowlist.length > 0) {
      return trace.conclude(
        'deny',
        `tools.allow.${tool}.path_missing`,
        'this tool is restricted to paths and the call names none',
      );
    }
    return trace.conclude('allow', `tools.allow.${tool}`, `tool ${tool} is allowed`);
  }
  const normalized = normalizePath(rawPath);
  if (!normalized.ok) {
    return trace.conclude(
      'deny',
      `tools.allow.${tool}.path_refused`,
      `path refused: ${normalized.refusal}`,
    );
  }
  trace.miss(`tools.allow.${tool}.path_refused`, 'path is well formed');
  const denied = denylist.find((p) => pathUnder(normalized.path, normalizePattern(p)));
  if (denied)
    return trace.conclude(
      'deny',
      `tools.allow.${tool}.paths_denylist`,
      `path is under denied ${denied}`,
    );
  trace.miss(`tools.allow.${tool}.paths_denylist`, 'path is under no denied prefix');
  if (allowlist.length > 0) {
    const allowed = allowlist.find((p) => pathUnder(normalized.path, normalizePattern(p)));
    if (!allowed)
      return trace.conclude(
        'deny',
        `tools.allow.${tool}.paths_allowlist_miss`,
        'path is under no allowed prefix',
      );
    trace.miss(`tools.allow.${tool}.paths_allowlist_miss`, `path is under allowed ${allowed}`);
  }
  return trace.conclude('allow', `tools.allow.${tool}`, `tool ${tool} is allowed for this path`);
}
