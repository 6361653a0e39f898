// `predicate.serialization.ignore_paths`: the files OMS left out of the signed manifest (its
// defaults are the git metadata, plus the signature itself). Honoured, because a real OMS
// signature of a checkout lists them, but never as a way around the manifest: an entry must be a
// literal path inside the model, and a file it leaves out may only be one nothing loads.
import { canonicalName } from './names.js';
import { LIMITS, fail, type Failure } from './types.js';

/** Canonical relative POSIX paths; each leaves out itself and, for a directory, all below it. */
export type IgnorePaths = readonly string[];

// OMS treats entries as literal paths (`PurePosixPath`), never as patterns. A `*` here means the
// signer expected a glob: what it would match is unknowable, so the entry is refused.
const GLOB = /[*?[\]{}]/;
const WINDOWS_DRIVE = /^[A-Za-z]:/;

/** Why one entry is refused, or null when it is a literal path inside the model. */
function entryProblem(entry: string): string | null {
  const shown = JSON.stringify(entry.slice(0, 100));
  if (entry === '' || entry === '.' || entry === './' || entry === '/')
    return `${shown} would leave out the whole model`;
  if (GLOB.test(entry)) return `${shown} is a pattern; ignore paths are literal paths`;
  if (entry.startsWith('/') || WINDOWS_DRIVE.test(entry) || entry.includes('\\'))
    return `${shown} is not a relative POSIX path`;
  if (entry.split('/').includes('..')) return `${shown} leaves the model directory`;
  // OMS writes `.git`, not `.git/`; one trailing slash is read as the same directory.
  const path = entry.endsWith('/') ? entry.slice(0, -1) : entry;
  if (!canonicalName(path, 'directory')) return `${shown} is not a canonical path`;
  return null;
}

/**
 * Reads the signed `ignore_paths`. Only ever called on a verified payload. Absent means none;
 * anything but a short list of literal paths inside the model is `ignore_path_invalid`.
 */
export function parseIgnorePaths(value: unknown): { ok: true; paths: IgnorePaths } | Failure {
  if (value === undefined) return { ok: true, paths: [] };
  if (!Array.isArray(value))
    return fail('ignore_path_invalid', 'serialization.ignore_paths is not a list');
  if (value.length > LIMITS.ignorePaths)
    return fail('ignore_path_invalid', `more than ${LIMITS.ignorePaths} ignore paths`);
  const paths: string[] = [];
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'string')
      return fail('ignore_path_invalid', 'an ignore path is not a string');
    const problem = entryProblem(entry);
    if (problem !== null) return fail('ignore_path_invalid', `ignore path ${problem}`);
    paths.push(entry.endsWith('/') ? entry.slice(0, -1) : entry);
  }
  return { ok: true, paths };
}

/** The entry that leaves `name` out (the name itself or a directory above it), if any. */
export function ignoredBy(name: string, paths: IgnorePaths): string | null {
  return paths.find((p) => name === p || name.startsWith(`${p}/`)) ?? null;
}

const GIT_DIRECTORIES = new Set(['.git', '.github']);
const GIT_FILES = new Set(['.gitattributes', '.gitignore']);
const SIGNATURE_SUFFIXES = ['.sig', '.sigstore', '.sigstore.json'];

/**
 * Whether a file may stay out of the manifest: OMS's own defaults (git metadata) and signature
 * bundles, which no runtime loads. Everything else is refused when left out, even a README: the
 * format gate already refuses a directory holding files outside the loaders' formats, so a file
 * that reached this stage is one the gate accepted, and a loader may read it. An allowlist,
 * because a list of loadable suffixes is never complete (chat templates, tokenizers, code).
 */
export function mayBeLeftOut(name: string): boolean {
  const segments = name.split('/');
  const base = segments.at(-1) ?? '';
  if (segments.slice(0, -1).some((s) => GIT_DIRECTORIES.has(s))) return true;
  if (GIT_FILES.has(base)) return true;
  return SIGNATURE_SUFFIXES.some((suffix) => base.endsWith(suffix) && base !== suffix);
}
