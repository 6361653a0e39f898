import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { DocumentResult } from './problem.js';

export interface ReadDocumentOptions {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Open through a symbolic link (default false: a link in place of a policy file is refused). */
  followSymlinks?: boolean;
}

/**
 * Reads a document file as UTF-8 text, bounded: a regular file only, never more than
 * `maxBytes + 1` bytes read, invalid UTF-8 refused (not replaced). Never throws: a missing,
 * unreadable, oversized or non-UTF-8 file is one problem at path ''.
 */
export async function readDocumentFile(
  path: string,
  options: ReadDocumentOptions,
): Promise<DocumentResult<string>> {
  const fail = (code: string, message: string): DocumentResult<string> => ({
    ok: false,
    problems: [{ path: '', code, message }],
  });
  const tooLarge = (size: number) =>
    fail('TOO_LARGE', `too large: ${size} bytes; the limit is ${options.maxBytes} bytes`);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO put in place of a document must not hang the reader.
    const flags =
      fsConstants.O_RDONLY |
      fsConstants.O_NONBLOCK |
      (options.followSymlinks === true ? 0 : fsConstants.O_NOFOLLOW);
    handle = await open(path, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('FILE_MISSING', 'file is missing');
    if (code === 'ELOOP')
      return fail('FILE_UNREADABLE', 'file cannot be read: it is a symbolic link');
    return fail('FILE_UNREADABLE', `file cannot be read: ${code ?? (err as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return fail('NOT_A_FILE', 'not a regular file');
    if (stat.size > options.maxBytes) return tooLarge(stat.size);
    // Read at most one byte past the limit: the file may grow between stat and read.
    const buf = Buffer.alloc(options.maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n >= buf.length) break;
    }
    if (n > options.maxBytes) return tooLarge(n);
    try {
      // Fatal: invalid UTF-8 is refused. The BOM is kept so the text is exactly the bytes.
      const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
      return { ok: true, value: decoder.decode(buf.subarray(0, n)) };
    } catch {
      return fail('NOT_UTF8', 'not valid UTF-8');
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail('FILE_UNREADABLE', `file cannot be read: ${code ?? (err as Error).message}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
