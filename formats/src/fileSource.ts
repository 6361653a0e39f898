// The package's one file-backed source (source.ts): every file-system call of @secai/formats is
// here, and a test (test/noIo.unit.spec.ts) refuses them anywhere else. Files are opened without
// following a link and non-blocking (a FIFO cannot stall a reader), read at explicit offsets, and
// can tell whether they changed while read (size, inode, device and mtime, from the same handle).
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { checkWindow, type DirectorySource, type EntryFacts, type FileSource } from './source.js';

/** An open file handle a caller owns (for `inspectGgufHandle`). */
export type OpenFileHandle = FileHandle;

/**
 * Opens `path` for reading. Throws the system's error when it cannot be opened; a symbolic link
 * fails with code ELOOP. The caller checks the facts (`kind`, `links`) it requires and closes.
 */
export async function fileSource(path: string): Promise<FileSource> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    return await sourceOfHandle(fh, () => fh.close());
  } catch (error) {
    await fh.close().catch(() => undefined);
    throw error;
  }
}

/** A source over a handle the caller keeps (closing the source leaves the handle open). */
export function handleSource(fh: FileHandle): Promise<FileSource> {
  return sourceOfHandle(fh, () => Promise.resolve());
}

async function sourceOfHandle(fh: FileHandle, close: () => Promise<void>): Promise<FileSource> {
  const opened = await fh.stat();
  return {
    ...factsOf(opened),
    async read(offset, length) {
      checkWindow(offset, length);
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === length ? buf : buf.subarray(0, done);
    },
    async unchanged() {
      const now = await fh.stat();
      return (
        now.size === opened.size &&
        now.ino === opened.ino &&
        now.dev === opened.dev &&
        now.mtimeMs === opened.mtimeMs
      );
    },
    close,
  };
}

/** The directory at `root`, read with lstat and readdir (never following a link) and opened per file. */
export function directorySource(root: string): DirectorySource {
  return {
    stat: async (rel) => factsOf(await lstat(rel === '' ? root : join(root, rel))),
    list: (rel) => readdir(join(root, rel), { encoding: 'buffer' }),
    open: (rel) => fileSource(join(root, rel)),
  };
}

function factsOf(st: Stats): EntryFacts {
  const kind = st.isFile()
    ? 'file'
    : st.isDirectory()
      ? 'directory'
      : st.isSymbolicLink()
        ? 'symlink'
        : 'other';
  return { kind, size: st.size, links: st.nlink };
}
