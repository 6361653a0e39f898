import { constants, createReadStream, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { MAX_ENVELOPE_BYTES } from '@secai/contracts';
import { BundleError } from './errors.js';
import {
  parseBundleEntryLine,
  parseBundleHeaderLine,
  type BundleEntry,
  type BundleHeader,
  type BundleVersion,
} from './format.js';

/** Longest line accepted: an envelope at the size limit plus its framing, or a large header. */
export const MAX_BUNDLE_LINE_BYTES = 4 * MAX_ENVELOPE_BYTES;
const NEWLINE = 0x0a;

export interface OpenBundle {
  header: BundleHeader;
  /** The entry lines in file order. Finish or `return()` it to close the file. */
  entries: AsyncGenerator<BundleEntry, void, undefined>;
}

/**
 * Opens a bundle: reads and checks the header, and returns the entries as a stream. Lines are
 * split on raw bytes (never decoded and re-encoded), so each envelope keeps its stored bytes.
 * Anything but a regular file (a FIFO, a device, a directory) is refused before a byte is read:
 * reading a FIFO nobody writes to would wait forever (`BUNDLE_NOT_FILE`).
 */
export async function openBundle(path: string): Promise<OpenBundle> {
  const lines = readLines(await openRegularFile(path), path);
  const first = await lines.next();
  if (first.done) {
    throw new BundleError('BUNDLE_MALFORMED', 'bundle is empty', { lineNo: 1 });
  }
  let header: BundleHeader;
  try {
    header = parseBundleHeaderLine(first.value.line, first.value.lineNo);
  } catch (error) {
    await lines.return(undefined);
    throw error;
  }
  return { header, entries: entriesOf(lines, header.version) };
}

/**
 * Opens `path` for reading without blocking (a FIFO opens at once instead of waiting for a
 * writer) and checks what was opened, not what the name pointed to a moment before.
 */
async function openRegularFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw new BundleError('BUNDLE_UNREADABLE', `cannot open ${path}`, { cause });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new BundleError('BUNDLE_NOT_FILE', `${path} is not a regular file (${kindOf(stats)})`);
    }
    return handle;
  } catch (error) {
    await handle.close();
    if (error instanceof BundleError) throw error;
    throw new BundleError('BUNDLE_UNREADABLE', `cannot read ${path}`, { cause: error });
  }
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

/** The entries of a bundle (header checked and skipped), as `{ lineNo, seq, bytes }`. */
export async function* readBundle(path: string): AsyncGenerator<BundleEntry, void, undefined> {
  const { entries } = await openBundle(path);
  yield* entries;
}

async function* entriesOf(
  lines: AsyncGenerator<{ lineNo: number; line: Buffer }, void, undefined>,
  version: BundleVersion,
): AsyncGenerator<BundleEntry, void, undefined> {
  for await (const { lineNo, line } of lines) {
    yield { lineNo, ...parseBundleEntryLine(line, lineNo, version) };
  }
}

/** Lines of a file as raw bytes without the newline; a final line without one is kept. */
async function* readLines(
  handle: FileHandle,
  path: string,
): AsyncGenerator<{ lineNo: number; line: Buffer }, void, undefined> {
  const stream = createReadStream(path, { fd: handle, highWaterMark: 1024 * 1024 });
  let carry: Buffer[] = [];
  let carried = 0;
  let lineNo = 0;
  const tooLong = (): BundleError =>
    new BundleError('BUNDLE_MALFORMED', `line is longer than ${MAX_BUNDLE_LINE_BYTES} bytes`, {
      lineNo: lineNo + 1,
    });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(NEWLINE, from); nl !== -1; nl = chunk.indexOf(NEWLINE, from)) {
        let line = chunk.subarray(from, nl);
        if (carried > 0) {
          line = Buffer.concat([...carry, line]);
          carry = [];
          carried = 0;
        }
        if (line.length > MAX_BUNDLE_LINE_BYTES) throw tooLong();
        lineNo += 1;
        yield { lineNo, line };
        from = nl + 1;
      }
      if (from < chunk.length) {
        carry.push(chunk.subarray(from));
        carried += chunk.length - from;
        if (carried > MAX_BUNDLE_LINE_BYTES) throw tooLong();
      }
    }
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError('BUNDLE_UNREADABLE', `cannot read ${path}`, { cause: error });
  } finally {
    stream.destroy();
  }
  if (carried > 0) {
    lineNo += 1;
    yield { lineNo, line: Buffer.concat(carry) };
  }
}
