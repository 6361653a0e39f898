// What a reader may ask of an artifact (issue 11 §4): its size and the bytes at an explicit
// offset, plus, for a directory, its entries. Readers take these and nothing else, so they run
// the same over a file, a directory or bytes in memory, and every file-system call of the package
// stays in one module (fileSource.ts). Readers bound every length they ask for.

/** The bytes of one artifact. */
export interface ByteSource {
  /** Size in bytes when the source was opened. */
  readonly size: number;
  /**
   * Up to `length` bytes at `offset`: fewer only where the source ends first (for a file whose
   * size was taken at opening, that means it changed). The bytes are the reader's to look at,
   * never to write.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * False when the bytes may have changed since the source was opened (a file written, truncated
   * or replaced while read). Readers ask after their last read, so that an answer is about one
   * version of the bytes. A source that cannot change answers true.
   */
  unchanged(): Promise<boolean>;
}

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

/** What an entry is, without following a link: readers refuse links, special files and hard links. */
export interface EntryFacts {
  readonly kind: EntryKind;
  readonly size: number;
  /** Hard links to the entry (1 for a file nothing else names). */
  readonly links: number;
}

/** An opened entry: its facts and its bytes, until closed. */
export interface FileSource extends ByteSource, EntryFacts {
  close(): Promise<void>;
}

/** A directory of artifacts, addressed by paths relative to its root ('' is the root). */
export interface DirectorySource {
  /** Facts of the entry at `rel`, not following a link. */
  stat(rel: string): Promise<EntryFacts>;
  /** Names of the entries in the directory at `rel`, as raw bytes (a name need not be UTF-8). */
  list(rel: string): Promise<readonly Uint8Array[]>;
  /** Opens the entry at `rel` for reading, refusing to follow a link (the error's code is ELOOP). */
  open(rel: string): Promise<FileSource>;
}

/** Bytes in memory as a source: a regular file with one link that never changes. */
export function bytesSource(bytes: Uint8Array): FileSource {
  // A plain view, so a reader sees the same type from memory as from a file (not a Buffer).
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    kind: 'file',
    size: bytes.length,
    links: 1,
    read: (offset, length) => {
      checkWindow(offset, length);
      return Promise.resolve(view.subarray(offset, offset + length));
    },
    unchanged: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
}

/** Exactly `length` bytes at `offset`, or undefined when the source ends first. */
export async function readExactly(
  source: ByteSource,
  offset: number,
  length: number,
): Promise<Uint8Array | undefined> {
  const bytes = await source.read(offset, length);
  return bytes.length === length ? bytes : undefined;
}

/** Refuses a read that is not a window at a non-negative integer offset (a reader's bug). */
export function checkWindow(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`invalid read of ${length} byte(s) at offset ${offset}`);
  }
}
