// The signed manifest against the artifact's file names, before any byte is read: which files
// must be hashed, which the signer left out, and what is refused. Pure: names in, answer out.
import { ignoredBy, mayBeLeftOut, type IgnorePaths } from './ignorePaths.js';
import { fail, type Failure } from './types.js';

export type ManifestMatch =
  | {
      ok: true;
      /** Present and signed: each file's digest is still to be compared. */
      signed: string[];
      /** Present, unsigned, and left out by `ignore_paths` (git metadata, signature files). */
      leftOut: string[];
    }
  | Failure;

export function some(names: readonly string[]): string {
  const shown = names.slice(0, 3).map((n) => JSON.stringify(n.slice(0, 100)));
  return shown.join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
}

/**
 * Every signed name must be present, and every present file must be signed or left out by an
 * ignore path, and only a file no runtime loads may be left out. A file both signed and ignored
 * is signed: its digest is compared (an ignore entry never weakens the manifest).
 */
export function matchManifest(
  manifest: ReadonlyMap<string, string>,
  present: Iterable<string>,
  ignorePaths: IgnorePaths,
): ManifestMatch {
  const names = [...present];
  const onDisk = new Set(names);
  const signed: string[] = [];
  const leftOut: string[] = [];
  const hidden: string[] = [];
  const unlisted: string[] = [];
  for (const name of names) {
    if (manifest.has(name)) signed.push(name);
    else if (ignoredBy(name, ignorePaths) === null) unlisted.push(name);
    else if (mayBeLeftOut(name)) leftOut.push(name);
    else hidden.push(name);
  }
  const first = hidden[0];
  if (first !== undefined) {
    // The signer chose to leave a loadable file unsigned: whatever it holds, nobody vouched for it.
    const entry = ignoredBy(first, ignorePaths) ?? '';
    return fail(
      'ignore_path_hides_file',
      `ignore path ${some([entry])} leaves out ${some(hidden)}, which a loader may read`,
    );
  }
  const missing = [...manifest.keys()].filter((name) => !onDisk.has(name));
  if (missing.length > 0) return fail('file_missing', `signed but absent: ${some(missing)}`);
  if (unlisted.length > 0)
    return fail('file_unlisted', `present but neither signed nor ignored: ${some(unlisted)}`);
  return { ok: true, signed, leftOut };
}
