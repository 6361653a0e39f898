import { isWithin } from './records.js';

// Path patterns of integrity.yaml: absolute paths whose segments may hold `*` (any run of
// characters, dot files included) and `?` (one character); `/` is never matched by either. A
// pattern names roots: each match is baselined with everything below it. Pure string logic.

export function hasGlob(segment: string): boolean {
  return segment.includes('*') || segment.includes('?');
}

export function segmentsOf(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

const compiled = new Map<string, RegExp>();

/** Whether one path segment matches one pattern segment. */
export function matchSegment(pattern: string, name: string): boolean {
  if (!hasGlob(pattern)) return pattern === name;
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split('')
      .map((c) =>
        c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'),
      )
      .join('');
    re = new RegExp(`^${body}$`, 's');
    compiled.set(pattern, re);
  }
  return re.test(name);
}

/** Whether `path` is a match of `pattern` itself (same number of segments, each matching). */
export function matchesPattern(pattern: string, path: string): boolean {
  const p = segmentsOf(pattern);
  const s = segmentsOf(path);
  return p.length === s.length && p.every((seg, i) => matchSegment(seg, s[i]!));
}

/** Whether `path` is a match of `pattern` or lies below one. */
export function isUnderPattern(pattern: string, path: string): boolean {
  const p = segmentsOf(pattern);
  const s = segmentsOf(path);
  return s.length >= p.length && p.every((seg, i) => matchSegment(seg, s[i]!));
}

/** Whether `path` lies strictly above where `pattern` could match (a directory on the way). */
export function isAbovePattern(pattern: string, path: string): boolean {
  const p = segmentsOf(pattern);
  const s = segmentsOf(path);
  return s.length < p.length && s.every((seg, i) => matchSegment(p[i]!, seg));
}

/** The longest leading part of a pattern without a glob (where expansion starts reading). */
export function fixedPrefix(pattern: string): string {
  const out: string[] = [];
  for (const seg of segmentsOf(pattern)) {
    if (hasGlob(seg)) break;
    out.push(seg);
  }
  return `/${out.join('/')}`;
}

export interface PathSet {
  patterns: readonly string[];
  exclude: readonly string[];
}

export function isExcluded(set: PathSet, path: string): boolean {
  return set.exclude.some((x) => isUnderPattern(x, path));
}

/** Whether `path` belongs to the set: at or below one of its roots and not excluded. */
export function belongsTo(set: PathSet, path: string): boolean {
  return set.patterns.some((p) => isUnderPattern(p, path)) && !isExcluded(set, path);
}

/** Whether a change at `path` could create a new root of the set (a directory on the way). */
export function leadsTo(set: PathSet, path: string): boolean {
  return set.patterns.some((p) => isAbovePattern(p, path));
}

/** The scope paths that cover `path` (for a targeted check): itself when no wider one does. */
export function minimalScope(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const out: string[] = [];
  for (const p of sorted) if (!out.some((s) => isWithin(p, s))) out.push(p);
  return out.sort();
}
