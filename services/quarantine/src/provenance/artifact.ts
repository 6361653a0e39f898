// The artifact's side of the comparison: every regular file, named as OMS names it, and a
// streamed SHA-256 of each. Links and special files are refused rather than followed or skipped,
// so nothing the runtime could load escapes the manifest.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LIMITS, OMS, fail, type Failure } from './types.js';

/** Manifest name → absolute path. */
export type ArtifactFiles = Map<string, string>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function code(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : 'unknown';
}

async function walk(
  root: string,
  relative: string[],
  files: ArtifactFiles,
  budget: { entries: number },
  skipRootName: string | null,
): Promise<Failure | null> {
  if (relative.length > LIMITS.depth) return fail('artifact_invalid', 'the directory is too deep');
  const dir = join(root, ...relative);
  // Raw names: one that is not UTF-8 could not be named in the manifest (and would be mangled).
  const names = await readdir(dir, { encoding: 'buffer' });
  for (const raw of names) {
    if (--budget.entries < 0) return fail('artifact_invalid', 'too many directory entries');
    let name: string;
    try {
      name = utf8.decode(raw);
    } catch {
      return fail('artifact_invalid', 'a file name is not UTF-8');
    }
    if (relative.length === 0 && name === skipRootName) continue;
    const path = [...relative, name];
    const info = await lstat(join(dir, name));
    if (info.isDirectory()) {
      const failure = await walk(root, path, files, budget, skipRootName);
      if (failure !== null) return failure;
    } else if (info.isFile()) {
      if (files.size >= LIMITS.files) return fail('artifact_invalid', 'too many files');
      files.set(path.join('/'), join(dir, name));
    } else {
      return fail('artifact_invalid', `${path.join('/')} is a link or special file`);
    }
  }
  return null;
}

/**
 * The files to compare with the signed manifest. For a directory `skipRootName` is the bundle's
 * own name when the bundle lives at the top of it (OMS's `model.sig`), never anything else.
 */
export async function listArtifactFiles(
  artifactPath: string,
  kind: 'file' | 'directory',
  skipRootName: string | null,
): Promise<{ ok: true; files: ArtifactFiles } | Failure> {
  try {
    const info = await lstat(artifactPath);
    if (kind === 'file') {
      if (!info.isFile()) return fail('artifact_invalid', 'the artifact is not a regular file');
      return { ok: true, files: new Map([[OMS.singleFileName, artifactPath]]) };
    }
    if (!info.isDirectory()) return fail('artifact_invalid', 'the artifact is not a directory');
    const files: ArtifactFiles = new Map();
    const failure = await walk(artifactPath, [], files, { entries: LIMITS.entries }, skipRootName);
    return failure ?? { ok: true, files };
  } catch (error) {
    return fail('artifact_invalid', `cannot read the artifact (${code(error)})`);
  }
}

/** Streamed SHA-256 (hex) of a regular file, read in bounded chunks; null if unreadable. */
export async function sha256File(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!(await handle.stat()).isFile()) return null;
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(LIMITS.readChunk);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } catch {
    return null;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
