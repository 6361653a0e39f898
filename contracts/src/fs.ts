import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `data` so that a reader (or a crash) sees either the old file or the new
 * one, never a torn write: the data goes to a temporary file in the same directory, is flushed
 * to disk, renamed over the target, and the directory entry is flushed too. `mode` is applied
 * explicitly, so the umask cannot widen or narrow it.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
): Promise<void> {
  await writeAtomically(path, (handle) => handle.writeFile(data), mode);
}

/**
 * The same guarantee for content written in pieces (large files): `write` fills the temporary
 * file; if it throws, no file appears at `path` and the temporary one is removed.
 */
export async function writeAtomically(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
  mode = 0o600,
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.chmod(mode);
      await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

/** Flushes a directory entry (a rename is durable only once its directory is). */
async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; everything we deploy on can.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * What changes when anything in a file or directory tree changes: path, inode, size, mtime,
 * ctime and mode of every entry (bigint times: nanoseconds), or null when part of it is gone.
 * ctime cannot be set back, so a content change always shows; a model is re-hashed only then.
 */
export async function treeSignature(path: string): Promise<string | null> {
  const parts: string[] = [];
  const stack = [path];
  while (stack.length > 0) {
    const p = stack.pop()!;
    let st;
    try {
      st = await lstat(p, { bigint: true });
    } catch {
      return null;
    }
    parts.push(`${p}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\0${st.mode}`);
    if (st.isDirectory()) {
      const names = await readdir(p).catch(() => null);
      if (!names) return null;
      for (const n of names) stack.push(join(p, n));
    }
  }
  return parts.sort().join('\n');
}
