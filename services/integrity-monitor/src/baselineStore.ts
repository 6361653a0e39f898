import { constants } from 'node:fs';
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@secai/contracts';
import { entriesDigest, sortedRecords, type FileRecord, type PathClassName } from './records.js';

// The entries of a baseline live in the state dir; only their digest travels in the signed
// `integrity.baseline.created` / `integrity.rebaselined` event (a class can hold far more entries
// than one 1 MiB envelope). The file is named by that digest, so the event says which file is
// trusted: a new baseline is written under its own name before its event is appended, and the old
// file is removed after, so a crash in between leaves the previous event pointing at its file.
//
//   <stateDir>/integrity/baseline/<pathClass>/<digest hex>.json   (dirs 0700, files 0600)

/** Largest baseline file read back (250,000 entries take about 60 MiB). */
export const MAX_BASELINE_BYTES = 128 * 1024 * 1024;

export interface StoredBaseline {
  version: 1;
  pathClass: PathClassName;
  createdAt: string;
  entriesDigest: string;
  entries: FileRecord[];
}

export function baselineDir(stateDir: string, pathClass: PathClassName): string {
  return join(stateDir, 'integrity', 'baseline', pathClass);
}

export function baselineFile(stateDir: string, pathClass: PathClassName, digest: string): string {
  return join(baselineDir(stateDir, pathClass), `${digest.replace(/^sha256:/, '')}.json`);
}

/** Writes the entries under their digest's name; returns the digest. */
export async function writeBaseline(
  stateDir: string,
  pathClass: PathClassName,
  records: Iterable<FileRecord>,
  now: Date,
): Promise<{ entriesDigest: string; entryCount: number; file: string }> {
  const entries = sortedRecords(records);
  const digest = entriesDigest(entries);
  const body: StoredBaseline = {
    version: 1,
    pathClass,
    createdAt: now.toISOString(),
    entriesDigest: digest,
    entries,
  };
  await mkdir(baselineDir(stateDir, pathClass), { recursive: true, mode: 0o700 });
  const file = baselineFile(stateDir, pathClass, digest);
  await writeFileAtomic(file, `${JSON.stringify(body)}\n`, 0o600);
  return { entriesDigest: digest, entryCount: entries.length, file };
}

export type BaselineRead =
  | { ok: true; records: Map<string, FileRecord>; file: string }
  /** `actual`: the digest the file holds now, or null when it is missing or unreadable. */
  | { ok: false; file: string; actual: string | null; problem: string };

/**
 * The entries the signed event names, read back and checked against its digest: a file that is
 * missing, unreadable, malformed or altered is refused (`ok: false`), never half-trusted.
 */
export async function readBaseline(
  stateDir: string,
  pathClass: PathClassName,
  expectedDigest: string,
): Promise<BaselineRead> {
  const file = baselineFile(stateDir, pathClass, expectedDigest);
  let text: string;
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const { size } = await fh.stat();
      if (size > MAX_BASELINE_BYTES)
        return {
          ok: false,
          file,
          actual: null,
          problem: `larger than ${MAX_BASELINE_BYTES} bytes`,
        };
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    return {
      ok: false,
      file,
      actual: null,
      problem: (err as NodeJS.ErrnoException).code ?? 'unreadable',
    };
  }
  let body: Partial<StoredBaseline>;
  try {
    body = JSON.parse(text) as Partial<StoredBaseline>;
  } catch {
    return { ok: false, file, actual: null, problem: 'not JSON' };
  }
  if (!Array.isArray(body.entries) || body.pathClass !== pathClass)
    return { ok: false, file, actual: null, problem: 'not a baseline of this class' };
  const actual = entriesDigest(body.entries);
  if (actual !== expectedDigest)
    return { ok: false, file, actual, problem: 'entries do not match the signed digest' };
  return { ok: true, records: new Map(body.entries.map((r) => [r.path, r])), file };
}

/** Removes the class's baseline files other than the one `keepDigest` names. */
export async function pruneBaselines(
  stateDir: string,
  pathClass: PathClassName,
  keepDigest: string,
): Promise<void> {
  const dir = baselineDir(stateDir, pathClass);
  const keep = `${keepDigest.replace(/^sha256:/, '')}.json`;
  for (const name of await readdir(dir).catch(() => [] as string[]))
    if (name !== keep && /^[0-9a-f]{64}\.json$/.test(name))
      await unlink(join(dir, name)).catch(() => undefined);
}
