import { canonicalJson, sha256Hex, type PATH_CLASSES } from '@secai/contracts';

// What the monitor knows about one path, and how two such records differ. Pure: no I/O.

export type PathClassName = (typeof PATH_CLASSES)[number];
/** The classes kept in a baseline; `model_file` is checked against the registry instead. */
export const BASELINED_CLASSES = [
  'service_binary',
  'policy_file',
  'systemd_unit',
  'trust_material',
] as const satisfies readonly PathClassName[];
export type BaselinedClass = (typeof BASELINED_CLASSES)[number];

export type ViolationKindName = 'modified' | 'deleted' | 'added' | 'mode' | 'owner' | 'link';
export type SeverityName = 'low' | 'medium' | 'high' | 'critical';
export type IntegrityStateName = 'ok' | 'degraded' | 'recovery_required';

export type EntryType = 'file' | 'dir' | 'link' | 'other';

/** One path as observed (or as baselined): never its contents, only facts about it. */
export interface FileRecord {
  path: string;
  type: EntryType;
  /** `sha256:<hex>` of a regular file's bytes; null for anything else. */
  digest: string | null;
  /** Bytes of a regular file; 0 for anything else. */
  size: number;
  /** Permission bits with setuid/setgid/sticky, four octal digits (`0644`). */
  mode: string;
  /** Numeric `uid:gid` (names can be changed by editing /etc/passwd; numbers are what counts). */
  owner: string;
  /** A symbolic link's target (never followed); null for anything else. */
  target: string | null;
  /** Why a regular file could not be read (`EACCES`); absent when it was. */
  error?: string;
}

/** One way in which what is on disk differs from what is expected. */
export interface Difference {
  path: string;
  kind: ViolationKindName;
  /** What should be there (a `FileFact`): a digest, a mode, an owner, a link target; null = nothing. */
  expected: string | null;
  actual: string | null;
}

/** Longest fact an event carries (`FileFact`); longer link targets are shortened. */
export const MAX_FACT_LENGTH = 512;

export function modeString(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Control characters cannot appear in an event's path or fact: they are spelled `\xNN`. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x1f\x7f]/g;
  return text.replace(control, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function fact(text: string): string {
  const safe = printable(text);
  return safe.length <= MAX_FACT_LENGTH ? safe : `${safe.slice(0, MAX_FACT_LENGTH - 1)}…`;
}

/** What a path holds: a digest, `directory`, `symlink -> <target>` or `special file`. */
export function contentFact(r: FileRecord): string {
  switch (r.type) {
    case 'file':
      return r.error !== undefined ? `unreadable: ${r.error}` : (r.digest ?? 'regular file');
    case 'dir':
      return 'directory';
    case 'link':
      return fact(`symlink -> ${r.target ?? ''}`);
    case 'other':
      return 'special file';
  }
}

/** For `link` violations: the target of a link, else what the path held instead. */
function linkFact(r: FileRecord): string {
  return r.type === 'link' ? fact(r.target ?? '') : contentFact(r);
}

const KIND_ORDER: Record<ViolationKindName, number> = {
  deleted: 0,
  added: 1,
  link: 2,
  modified: 3,
  mode: 4,
  owner: 5,
};

export function compareDifferences(a: Difference, b: Difference): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
}

/** How one baselined path differs from what is observed there now (none when equal). */
export function diffRecord(
  path: string,
  expected: FileRecord | undefined,
  actual: FileRecord | undefined,
): Difference[] {
  if (!expected && !actual) return [];
  if (expected && !actual)
    return [{ path, kind: 'deleted', expected: contentFact(expected), actual: null }];
  if (!expected && actual)
    return [{ path, kind: 'added', expected: null, actual: contentFact(actual) }];
  const b = expected!;
  const o = actual!;
  const out: Difference[] = [];
  if (b.type === 'link' || o.type === 'link') {
    // A link swapped in for a file (or retargeted) is its own kind: the path now leads elsewhere.
    if (b.type !== o.type || b.target !== o.target)
      out.push({ path, kind: 'link', expected: linkFact(b), actual: linkFact(o) });
  } else if (
    b.type !== o.type ||
    (b.type === 'file' && (b.digest !== o.digest || b.error !== o.error))
  ) {
    out.push({ path, kind: 'modified', expected: contentFact(b), actual: contentFact(o) });
  }
  // A link's own mode means nothing on Linux; a type change already says everything.
  if (b.type === o.type && b.type !== 'link' && b.mode !== o.mode)
    out.push({ path, kind: 'mode', expected: b.mode, actual: o.mode });
  if (b.type === o.type && b.owner !== o.owner)
    out.push({ path, kind: 'owner', expected: b.owner, actual: o.owner });
  return out;
}

/** Whether `path` is `scope` or below it. */
export function isWithin(path: string, scope: string): boolean {
  if (path === scope) return true;
  return path.startsWith(scope.endsWith('/') ? scope : `${scope}/`);
}

/**
 * Every difference between a baseline and an observation, sorted by path. With `scope`, only
 * paths within one of the scope paths are compared (a check of what a notification named). A
 * directory deleted or added with its contents is reported once, at the directory.
 */
export function diffRecords(
  baseline: ReadonlyMap<string, FileRecord>,
  observed: ReadonlyMap<string, FileRecord>,
  scope: readonly string[] | null = null,
): Difference[] {
  const inScope = (p: string) => scope === null || scope.some((s) => isWithin(p, s));
  const paths = new Set<string>();
  for (const p of baseline.keys()) if (inScope(p)) paths.add(p);
  for (const p of observed.keys()) if (inScope(p)) paths.add(p);
  const out: Difference[] = [];
  for (const p of paths) out.push(...diffRecord(p, baseline.get(p), observed.get(p)));
  // A directory deleted (or added) whole is one difference, at its own path: what was (or is) in
  // it is implied, and a removed tree does not become thousands of events.
  const whole = new Set(
    out
      .filter((d) => d.kind === 'deleted' || d.kind === 'added')
      .map((d) => `${d.kind}\u0000${d.path}`),
  );
  return out
    .filter(
      (d) =>
        (d.kind !== 'deleted' && d.kind !== 'added') ||
        !whole.has(`${d.kind}\u0000${d.path.slice(0, d.path.lastIndexOf('/'))}`),
    )
    .sort(compareDifferences);
}

/** The records of a baseline in their stored order (sorted by path). */
export function sortedRecords(records: Iterable<FileRecord>): FileRecord[] {
  return [...records].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The digest a baseline event carries: SHA-256 over the canonical JSON of the records sorted by
 * path (every field: path, type, digest, size, mode, owner, target).
 */
export function entriesDigest(records: Iterable<FileRecord>): string {
  return `sha256:${sha256Hex(canonicalJson(sortedRecords(records)))}`;
}

/** Longest path an event carries (`AbsolutePath`). */
export const MAX_PATH_LENGTH = 4096;

/**
 * A difference as an event can carry it: a path longer than 4096 characters (possible below a
 * deep tree) is shortened with a marker rather than making the whole check fail validation.
 */
export function bounded(d: Difference): Difference {
  if (d.path.length <= MAX_PATH_LENGTH) return d;
  return { ...d, path: `${d.path.slice(0, MAX_PATH_LENGTH - 1)}…` };
}

export function differenceKey(d: { path: string; kind: ViolationKindName }): string {
  return `${d.kind}\u0000${d.path}`;
}
