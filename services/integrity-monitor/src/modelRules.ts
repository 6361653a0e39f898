import {
  compareDifferences,
  contentFact,
  differenceKey,
  isWithin,
  type Difference,
  type FileRecord,
} from './records.js';

// The model store checked against the registry (not against a baseline): what the registry
// projection says is stored must be there with its digest, read-only and owned like the store;
// anything else in the store is unregistered. Pure: the edge walks and hashes.

/** A model the registry says is in the store (status available or verification_failed). */
export interface ExpectedModel {
  /** `sha256:<hex>` */
  digest: string;
  sizeBytes: number;
  /** `sha256/<hex>/<fileName>`, relative to the store root. */
  storePath: string;
}

/** The content digest the edge computed for a model (`hashArtifact`), or why it could not. */
export type ArtifactResult =
  | { kind: 'hashed'; digest: string; sizeBytes: number }
  | { kind: 'failed'; code: string; path: string };

export interface ModelStoreObservation {
  storeRoot: string;
  /** Every path under the store root (the root included), as walked; file digests not needed. */
  records: ReadonlyMap<string, FileRecord>;
  /** By model digest, for the expected models whose path exists. */
  artifacts: ReadonlyMap<string, ArtifactResult>;
}

/** Files and directories in the store are read-only (the registry's layout). */
export const STORE_FILE_MODE = '0444';
export const STORE_DIR_MODE = '0555';

function join(root: string, rel: string): string {
  return rel === '' ? root : `${root.replace(/\/$/, '')}/${rel}`;
}

/** Store root and `sha256/` must not be writable by group or others. */
function writableByOthers(mode: string): boolean {
  return (parseInt(mode, 8) & 0o022) !== 0;
}

/**
 * Every way the store differs from the registry, sorted. Unregistered entries are reported at
 * their topmost path only (an unregistered directory, not each file in it).
 */
export function modelDifferences(
  expected: readonly ExpectedModel[],
  observed: ModelStoreObservation,
): Difference[] {
  const { storeRoot, records } = observed;
  const root = records.get(storeRoot);
  const out: Difference[] = [];
  if (!root) {
    for (const m of expected)
      out.push({
        path: join(storeRoot, m.storePath),
        kind: 'deleted',
        expected: m.digest,
        actual: null,
      });
    return out.sort(compareDifferences);
  }
  const owner = root.owner;
  const shaDir = join(storeRoot, 'sha256');
  const modelPaths = new Map(expected.map((m) => [join(storeRoot, m.storePath), m]));
  const hexDirs = new Set([...modelPaths.keys()].map((p) => p.slice(0, p.lastIndexOf('/'))));
  const allowed = (path: string) => {
    if (path === storeRoot || path === shaDir || hexDirs.has(path)) return true;
    if (!isWithin(path, shaDir)) return false;
    // `sha256/<hex>/<fileName>/...`: within a model if its first three segments name one.
    const parts = path.slice(shaDir.length + 1).split('/');
    return parts.length >= 2 && modelPaths.has(`${shaDir}/${parts[0]}/${parts[1]}`);
  };

  const unregistered: string[] = [];
  for (const [path, r] of records) {
    if (!allowed(path)) {
      // Report the topmost one: its parent is allowed (or is the root).
      const parent = path.slice(0, path.lastIndexOf('/')) || '/';
      if (allowed(parent)) unregistered.push(path);
      continue;
    }
    if (r.owner !== owner) out.push({ path, kind: 'owner', expected: owner, actual: r.owner });
    if (r.type === 'link') {
      out.push({
        path,
        kind: 'link',
        expected: modelPaths.get(path)?.digest ?? 'no link',
        actual: contentFact(r),
      });
      continue;
    }
    if (path === storeRoot || path === shaDir) {
      if (r.type !== 'dir')
        out.push({ path, kind: 'modified', expected: 'directory', actual: contentFact(r) });
      else if (writableByOthers(r.mode))
        out.push({ path, kind: 'mode', expected: '0755', actual: r.mode });
      continue;
    }
    if (r.type === 'other') {
      out.push({ path, kind: 'modified', expected: 'regular file', actual: contentFact(r) });
      continue;
    }
    const mode = r.type === 'dir' ? STORE_DIR_MODE : STORE_FILE_MODE;
    if (r.mode !== mode) out.push({ path, kind: 'mode', expected: mode, actual: r.mode });
  }
  for (const path of unregistered) {
    const r = records.get(path)!;
    out.push({ path, kind: 'added', expected: null, actual: contentFact(r) });
  }
  for (const [path, m] of modelPaths) {
    const r = records.get(path);
    if (!r) {
      out.push({ path, kind: 'deleted', expected: m.digest, actual: null });
      continue;
    }
    if (r.type === 'link') continue;
    const a = observed.artifacts.get(m.digest);
    if (!a) continue;
    if (a.kind === 'failed') {
      // A link or special file inside a directory artifact is reported above from the walk.
      if (a.code === 'ARTIFACT_SYMLINK' || a.code === 'ARTIFACT_SPECIAL_FILE') continue;
      out.push({ path, kind: 'modified', expected: m.digest, actual: `unreadable: ${a.code}` });
    } else if (a.digest !== m.digest || a.sizeBytes !== m.sizeBytes) {
      out.push({ path, kind: 'modified', expected: m.digest, actual: a.digest });
    }
  }
  const seen = new Set<string>();
  return out
    .filter((d) => {
      const key = differenceKey(d);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(compareDifferences);
}

/**
 * Differences in the model store are reported only once they have lasted `graceMs`: the
 * registry moves a model into (or out of) the store first and records the event right after, so
 * a check in between would see an unregistered (or missing) model that is not one.
 */
export function applyGrace(
  differences: readonly Difference[],
  firstSeen: ReadonlyMap<string, number>,
  now: number,
  graceMs: number,
  /** Differences already confirmed (reported before, e.g. before a restart): no grace again. */
  confirmed: (d: Difference) => boolean = () => false,
): { ready: Difference[]; firstSeen: Map<string, number>; recheckAt: number | null } {
  const next = new Map<string, number>();
  const ready: Difference[] = [];
  let recheckAt: number | null = null;
  for (const d of differences) {
    const key = `${differenceKey(d)}\u0000${d.expected ?? ''}\u0000${d.actual ?? ''}`;
    const since = firstSeen.get(key) ?? now;
    next.set(key, since);
    if (now - since >= graceMs || confirmed(d)) ready.push(d);
    else recheckAt = Math.min(recheckAt ?? Infinity, since + graceMs);
  }
  return { ready, firstSeen: next, recheckAt };
}
