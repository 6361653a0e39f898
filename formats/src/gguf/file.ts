// GGUF from a file: open without following a link, refuse anything but a regular file, inspect
// the bytes (inspect.ts). The thin entry points the quarantine's workers call.
import { fileSource, handleSource, type OpenFileHandle } from '../fileSource.js';
import type { FileSource } from '../source.js';
import { inspectGgufSource } from './inspect.js';
import type { GgufLimits, GgufReport } from './types.js';

/** Opens `path` without following symlinks and inspects it. */
export async function inspectGguf(path: string, limits?: Partial<GgufLimits>): Promise<GgufReport> {
  let source: FileSource;
  try {
    source = await fileSource(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      return { ok: false, reason: 'not_regular_file', detail: 'path is a symbolic link' };
    }
    throw err;
  }
  try {
    return await inspectGgufFile(source, limits);
  } finally {
    await source.close();
  }
}

/** Inspects an already-open handle (the caller keeps ownership). */
export async function inspectGgufHandle(
  fh: OpenFileHandle,
  limits?: Partial<GgufLimits>,
): Promise<GgufReport> {
  return inspectGgufFile(await handleSource(fh), limits);
}

/** A regular file's GGUF report; anything else (directory, FIFO, device) is `not_regular_file`. */
export async function inspectGgufFile(
  source: FileSource,
  limits?: Partial<GgufLimits>,
): Promise<GgufReport> {
  if (source.kind !== 'file') {
    return { ok: false, reason: 'not_regular_file', detail: 'not a regular file' };
  }
  return inspectGgufSource(source, limits);
}
