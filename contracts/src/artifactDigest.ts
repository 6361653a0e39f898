import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseError } from './errors.js';

// The content digest of a model artifact, shared by quarantine (intake snapshot), the registry
// (store, verify) and whoever re-checks a model before use. One definition:
//
// - a regular file: SHA-256 of its bytes;
// - a directory: SHA-256 over the lines `<relative path>\0<size in decimal>\0<file sha256 hex>\n`,
//   one per regular file in the tree, sorted by the UTF-8 bytes of the relative POSIX path.
//   Directories themselves do not enter the digest.
//
// `directoryDigestHex` below is the one definition: quarantine intake (hashing while it copies)
// and the registry (re-hashing from disk) both use it; a unit test checks it against the formula.
//
// Symbolic links, devices, FIFOs and sockets are refused with a typed error, never followed or
// read; so are names that are not valid UTF-8 or that contain a NUL or newline (they would make
// the line encoding ambiguous).

export type ArtifactDigestErrorCode =
  | 'ARTIFACT_NOT_FOUND'
  | 'ARTIFACT_SYMLINK'
  | 'ARTIFACT_SPECIAL_FILE'
  | 'ARTIFACT_INVALID_NAME'
  | 'ARTIFACT_CHANGED'
  | 'ARTIFACT_UNREADABLE';

/** An artifact that cannot be hashed; `path` is the offending entry (absolute). */
export class ArtifactDigestError extends BaseError<ArtifactDigestErrorCode> {
  readonly path: string;
  constructor(
    code: ArtifactDigestErrorCode,
    path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.path = path;
  }
}

export interface HashArtifactOptions {
  /** Called after every chunk read: bytes hashed so far and the total to hash. */
  onProgress?(bytesDone: number, totalBytes: number): void;
  /** Read size (default 1 MiB). */
  chunkBytes?: number;
}

export interface ArtifactDigest {
  /** `sha256:<hex>`. */
  digest: string;
  /** Bytes of the file, or of every regular file in the directory. */
  sizeBytes: number;
  /** Number of regular files hashed (1 for a file). */
  files: number;
}

const MiB = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface FileEntry {
  rel: string;
  abs: string;
  size: number;
}

function statCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function refuseEntry(st: BigIntStats, abs: string): void {
  if (st.isSymbolicLink())
    throw new ArtifactDigestError('ARTIFACT_SYMLINK', abs, `${abs} is a symbolic link`);
  if (!st.isFile() && !st.isDirectory())
    throw new ArtifactDigestError('ARTIFACT_SPECIAL_FILE', abs, `${abs} is not a regular file`);
}

async function lstatOrThrow(abs: string): Promise<BigIntStats> {
  try {
    return await lstat(abs, { bigint: true });
  } catch (cause) {
    if (statCode(cause) === 'ENOENT')
      throw new ArtifactDigestError('ARTIFACT_NOT_FOUND', abs, `${abs} does not exist`, { cause });
    throw new ArtifactDigestError(
      'ARTIFACT_UNREADABLE',
      abs,
      `${abs}: ${statCode(cause) ?? String(cause)}`,
      { cause },
    );
  }
}

/** Walks a directory tree: every regular file with its relative path and size. */
async function walk(root: string): Promise<FileEntry[]> {
  const files: FileEntry[] = [];
  const dirs: { rel: string; abs: string }[] = [{ rel: '', abs: root }];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    let names: Buffer[];
    try {
      names = await readdir(dir.abs, { encoding: 'buffer' });
    } catch (cause) {
      throw new ArtifactDigestError(
        'ARTIFACT_UNREADABLE',
        dir.abs,
        `${dir.abs}: ${statCode(cause) ?? String(cause)}`,
        { cause },
      );
    }
    for (const bytes of names) {
      let name: string;
      try {
        name = utf8.decode(bytes);
      } catch (cause) {
        throw new ArtifactDigestError(
          'ARTIFACT_INVALID_NAME',
          dir.abs,
          `a name in ${dir.abs} is not valid UTF-8`,
          { cause },
        );
      }
      if (name.includes('\n') || name.includes('\0'))
        throw new ArtifactDigestError(
          'ARTIFACT_INVALID_NAME',
          join(dir.abs, name),
          `${JSON.stringify(name)} contains a newline or NUL`,
        );
      const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
      const abs = join(dir.abs, name);
      const st = await lstatOrThrow(abs);
      refuseEntry(st, abs);
      if (st.isDirectory()) dirs.push({ rel, abs });
      else files.push({ rel, abs, size: Number(st.size) });
    }
  }
  return files.sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
}

/** Hashes one regular file in chunks; refuses a link, a special file or a change while read. */
async function hashFile(
  entry: FileEntry,
  buf: Buffer,
  progress: (bytes: number) => void,
): Promise<{ hex: string; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(entry.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    const code = statCode(cause);
    if (code === 'ELOOP')
      throw new ArtifactDigestError('ARTIFACT_SYMLINK', entry.abs, `${entry.abs} is a link`, {
        cause,
      });
    if (code === 'ENOENT')
      throw new ArtifactDigestError('ARTIFACT_NOT_FOUND', entry.abs, `${entry.abs} vanished`, {
        cause,
      });
    throw new ArtifactDigestError('ARTIFACT_UNREADABLE', entry.abs, `${entry.abs}: ${code}`, {
      cause,
    });
  }
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile())
      throw new ArtifactDigestError(
        'ARTIFACT_SPECIAL_FILE',
        entry.abs,
        `${entry.abs} is not a regular file`,
      );
    const hash = createHash('sha256');
    let position = 0;
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, 0, buf.length, position));
      } catch (cause) {
        throw new ArtifactDigestError(
          'ARTIFACT_UNREADABLE',
          entry.abs,
          `${entry.abs}: ${statCode(cause) ?? String(cause)}`,
          { cause },
        );
      }
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      position += bytesRead;
      progress(bytesRead);
    }
    const after = await fh.stat({ bigint: true });
    if (
      BigInt(position) !== before.size ||
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      after.ino !== before.ino
    )
      throw new ArtifactDigestError(
        'ARTIFACT_CHANGED',
        entry.abs,
        `${entry.abs} changed while it was hashed`,
      );
    return { hex: hash.digest('hex'), size: position };
  } finally {
    await fh.close();
  }
}

/**
 * The content digest of a file or directory artifact (definition above), read in 1 MiB chunks.
 * Throws `ArtifactDigestError` for a missing, linked, special, unreadable or changing artifact.
 */
export async function hashArtifact(
  path: string,
  options: HashArtifactOptions = {},
): Promise<ArtifactDigest> {
  const root = await lstatOrThrow(path);
  refuseEntry(root, path);
  const files: FileEntry[] = root.isDirectory()
    ? await walk(path)
    : [{ rel: '', abs: path, size: Number(root.size) }];
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const buf = Buffer.allocUnsafe(Math.max(1, options.chunkBytes ?? MiB));
  let done = 0;
  const progress = (bytes: number) => {
    done += bytes;
    options.onProgress?.(done, Math.max(totalBytes, done));
  };
  if (!root.isDirectory()) {
    const { hex, size } = await hashFile(files[0]!, buf, progress);
    return { digest: `sha256:${hex}`, sizeBytes: size, files: 1 };
  }
  const hashed: { rel: string; size: number; sha256: string }[] = [];
  let sizeBytes = 0;
  for (const f of files) {
    const { hex, size } = await hashFile(f, buf, progress);
    if (size !== f.size)
      throw new ArtifactDigestError('ARTIFACT_CHANGED', f.abs, `${f.abs} changed size`);
    hashed.push({ rel: f.rel, size, sha256: hex });
    sizeBytes += size;
  }
  return { digest: `sha256:${directoryDigestHex(hashed)}`, sizeBytes, files: files.length };
}

/**
 * The directory digest: SHA-256 over `<relative path>\0<size>\0<file sha256 hex>\n`, one line
 * per regular file, sorted by the UTF-8 bytes of the path. The one definition: quarantine intake
 * (hashing while it copies) and the registry (re-hashing from disk) both use it.
 */
export function directoryDigestHex(
  files: readonly { rel: string; size: number; sha256: string }[],
): string {
  const hash = createHash('sha256');
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
  for (const f of sorted) hash.update(`${f.rel}\0${f.size}\0${f.sha256}\n`, 'utf8');
  return hash.digest('hex');
}
