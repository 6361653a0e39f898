// Logical paths (what policy speaks: `/vault/user_docs/a.txt`) and where they live on disk (the
// workspace root: `<root>/user_docs/a.txt`). Pure string mapping: callers hand in paths already
// normalised (`checkPathText`) and the workspace root already resolved (`realpath`).

/** The logical name of the workspace root. */
export const LOGICAL_ROOT = '/vault';

/** The disk path of a logical path under `/vault`, or null for one outside it. */
export function toDisk(logical: string, realRoot: string): string | null {
  if (logical === LOGICAL_ROOT) return realRoot;
  if (!logical.startsWith(`${LOGICAL_ROOT}/`)) return null;
  return `${realRoot}${logical.slice(LOGICAL_ROOT.length)}`;
}

/** The logical path of a real disk path, or null when it is outside the workspace root. */
export function toLogical(real: string, realRoot: string): string | null {
  if (real === realRoot) return LOGICAL_ROOT;
  if (!real.startsWith(`${realRoot}/`)) return null;
  return `${LOGICAL_ROOT}${real.slice(realRoot.length)}`;
}

/** `/a/b/c` → `{ parent: '/a/b', name: 'c' }` (normalised input, not `/`). */
export function splitLast(logical: string): { parent: string; name: string } {
  const at = logical.lastIndexOf('/');
  return { parent: at === 0 ? '/' : logical.slice(0, at), name: logical.slice(at + 1) };
}
