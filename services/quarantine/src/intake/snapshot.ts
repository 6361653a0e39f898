// Intake (issue 4 §1, quarantine.md §1.4–§1.5): an artifact (a single file or a diffusers-style
// directory) is validated, copied into the quarantine area while being hashed, made read-only and
// published under its content digest with one atomic rename. A single file the caller may consume
// (an inbox drop) is instead hashed where it lies and moved by rename when custody.ts's rule holds
// (issue 11 §6). Nothing here emits events; the caller turns a `Snapshot` into `model.acquired`
// data with `modelAcquiredData`.
//
// Layout under `quarantineDir`:
//   tmp/<32 hex>/<name>            a copy in progress (removed by `cleanupIncomplete` after a crash)
//   artifacts/<digest hex>/<name>  a finished snapshot: files 0444, directories 0555
//
// Digests: a file's digest is the SHA-256 of its bytes. A directory's digest is the SHA-256 over
// the lines `<relative path>\0<size in decimal>\0<file sha256 hex>\n`, one per regular file, sorted
// by the UTF-8 bytes of the relative POSIX path. Paths can contain neither NUL nor newline (control
// characters are refused), so the encoding is unambiguous. Directories themselves do not enter the
// digest; an empty directory is refused.
import { createHash, randomBytes } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  statfs,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LogicalName, directoryDigestHex, schemaProblems } from '@secai/contracts';
import { hashInCustody } from './custody.js';
import { identity, sameIdentity, type Identity } from './identity.js';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

export interface IntakeLimits {
  /** Largest single file, alone or inside a directory (reference: 64 GiB single file). */
  readonly maxFileBytes: number;
  /** Largest artifact in total. */
  readonly maxTotalBytes: number;
  /** Most regular files in a directory artifact (reference §3.8: 25,000 entries). */
  readonly maxFiles: number;
  /** Most entries (files and directories) walked in a directory artifact. */
  readonly maxEntries: number;
  /** Deepest relative path, in segments (`a/b/c` is 3; reference: 32). */
  readonly maxDepth: number;
  /** Longest relative path in UTF-8 bytes (reference: 4,096). */
  readonly maxPathBytes: number;
  /** Free space that must remain after the copy (reference: 2 GiB). */
  readonly reserveBytes: number;
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = {
  maxFileBytes: 64 * GiB,
  maxTotalBytes: 128 * GiB,
  maxFiles: 25_000,
  maxEntries: 25_000,
  maxDepth: 32,
  maxPathBytes: 4096,
  reserveBytes: 2 * GiB,
};

/** Stable reasons an artifact is refused at intake. */
export type IntakeRefusalReason =
  | 'not_found'
  | 'symlink'
  | 'hard_link'
  | 'special_file'
  | 'hidden_path'
  | 'invalid_name'
  | 'path_too_long'
  | 'file_too_large'
  | 'total_too_large'
  | 'too_many_files'
  | 'too_many_entries'
  | 'too_deep'
  | 'empty_directory'
  | 'unreadable'
  | 'changed_during_copy'
  | 'insufficient_space'
  | 'store_conflict';

export interface Snapshot {
  readonly ok: true;
  readonly kind: 'file' | 'directory';
  /** The artifact's basename, a valid contracts `LogicalName`. */
  readonly name: string;
  /** `sha256:<hex>`: file content, or the directory digest described above. */
  readonly digest: string;
  readonly sizeBytes: number;
  /** Number of regular files (1 for a file). */
  readonly fileCount: number;
  /** The snapshot root: `<quarantineDir>/artifacts/<hex>/<name>` (the file, or the directory). */
  readonly path: string;
  /** True when an identical snapshot already existed and was reused. */
  readonly reused: boolean;
  /** How the bytes came into custody: moved by rename (a consumed file) or copied. */
  readonly custody: 'renamed' | 'copied';
  /** Why a source the caller let intake consume was copied instead (for the log). */
  readonly custodyNote?: string;
}

export interface Refusal {
  readonly ok: false;
  readonly reason: IntakeRefusalReason;
  readonly detail: string;
}

/** Where intake spends its time (the bench's breakdown), in order; `custody` only when consuming. */
export type IntakePhase = 'plan' | 'custody' | 'read' | 'sync' | 'publish';

/** Internal knobs, for tests: chunk size and a hook awaited after every chunk copied. */
export interface IntakeOptions {
  /**
   * The caller may consume the source (the inbox: yes; a user's `secai model import PATH`: no,
   * the user keeps the file). A single file is then taken by rename when custody.ts's rule
   * holds, its private directory (the inbox's claim, holding nothing else) becoming
   * `artifacts/<hex>`; otherwise it is copied and left to the caller to remove.
   */
  readonly consumeSource?: boolean;
  /** Bytes per read (default 4 MiB). */
  readonly chunkBytes?: number;
  /** Called with each phase's duration in milliseconds as it ends. */
  readonly onPhase?: (phase: IntakePhase, ms: number) => void;
  readonly onChunk?: (relPath: string, bytesCopied: number) => void | Promise<void>;
  /** Called once the source was walked and the space checked, before any byte is copied. */
  readonly onPlanned?: (plan: {
    kind: 'file' | 'directory';
    totalBytes: number;
    files: number;
  }) => void | Promise<void>;
}

class Refused extends Error {
  constructor(
    readonly reason: IntakeRefusalReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

interface PlanEntry {
  readonly rel: string; // '' for the root
  readonly abs: string;
  readonly id: Identity;
}

interface Plan {
  readonly kind: 'file' | 'directory';
  readonly dirs: PlanEntry[]; // parents before children; root first
  readonly files: PlanEntry[];
  readonly totalBytes: number;
}

const TMP_NAME = /^[0-9a-f]{32}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function show(rel: string): string {
  return rel === '' ? 'the artifact' : JSON.stringify(rel);
}

/** Validates one path segment; returns it or throws a refusal. */
function checkSegment(segment: string, where: string): void {
  if (segment.startsWith('.')) throw new Refused('hidden_path', `${where} is hidden`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(segment))
    throw new Refused('invalid_name', `${where} contains a control character`);
  if (segment.includes('\\') || segment.includes('/'))
    throw new Refused('invalid_name', `${where} contains a path separator`);
  if (Buffer.from(segment, 'utf8').toString('utf8') !== segment)
    throw new Refused('invalid_name', `${where} is not valid Unicode`);
  if (Buffer.byteLength(segment, 'utf8') > 255)
    throw new Refused('invalid_name', `${where} is longer than 255 UTF-8 bytes`);
}

function classify(st: BigIntStats, rel: string, allowDir: boolean): 'file' | 'directory' {
  if (st.isSymbolicLink()) throw new Refused('symlink', `${show(rel)} is a symbolic link`);
  if (st.isDirectory() && allowDir) return 'directory';
  if (!st.isFile()) throw new Refused('special_file', `${show(rel)} is not a regular file`);
  if (st.nlink !== 1n)
    throw new Refused('hard_link', `${show(rel)} has ${st.nlink} hard links (must be 1)`);
  return 'file';
}

async function lstatOrRefuse(abs: string, rel: string): Promise<BigIntStats> {
  try {
    return await lstat(abs, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Refused('not_found', `${show(rel)} does not exist`);
    throw new Refused('unreadable', `${show(rel)}: ${code ?? String(err)}`);
  }
}

/** Phase 1: walk and validate the whole source without reading file contents. */
async function plan(source: string, limits: IntakeLimits): Promise<Plan> {
  const rootSt = await lstatOrRefuse(source, '');
  const kind = classify(rootSt, '', true);
  const files: PlanEntry[] = [];
  const dirs: PlanEntry[] = [];
  let totalBytes = 0;
  const addFile = (entry: PlanEntry): void => {
    const size = Number(entry.id.size);
    if (size > limits.maxFileBytes)
      throw new Refused(
        'file_too_large',
        `${show(entry.rel)} is ${size} bytes, over the ${limits.maxFileBytes}-byte limit per file`,
      );
    totalBytes += size;
    if (totalBytes > limits.maxTotalBytes)
      throw new Refused(
        'total_too_large',
        `the artifact exceeds the ${limits.maxTotalBytes}-byte total limit`,
      );
    files.push(entry);
    if (files.length > limits.maxFiles)
      throw new Refused('too_many_files', `more than ${limits.maxFiles} files`);
  };
  if (kind === 'file') {
    addFile({ rel: '', abs: source, id: identity(rootSt) });
    return { kind, dirs, files, totalBytes };
  }
  dirs.push({ rel: '', abs: source, id: identity(rootSt) });
  let entries = 0;
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i]!;
    let raw: Buffer[];
    try {
      raw = await readdir(dir.abs, { encoding: 'buffer' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Refused('unreadable', `${show(dir.rel)}: ${code ?? String(err)}`);
    }
    raw.sort((a, b) => Buffer.compare(a, b));
    for (const bytes of raw) {
      let segment: string;
      try {
        segment = utf8.decode(bytes);
      } catch {
        throw new Refused(
          'invalid_name',
          `a name in ${show(dir.rel)} is not valid UTF-8 (hex ${bytes.toString('hex').slice(0, 64)})`,
        );
      }
      const rel = dir.rel === '' ? segment : `${dir.rel}/${segment}`;
      checkSegment(segment, JSON.stringify(rel));
      if (Buffer.byteLength(rel, 'utf8') > limits.maxPathBytes)
        throw new Refused(
          'path_too_long',
          `${JSON.stringify(rel.slice(0, 64))}… is longer than ${limits.maxPathBytes} bytes`,
        );
      const depth = rel.split('/').length;
      if (depth > limits.maxDepth)
        throw new Refused('too_deep', `${JSON.stringify(rel)} is deeper than ${limits.maxDepth}`);
      if (++entries > limits.maxEntries)
        throw new Refused('too_many_entries', `more than ${limits.maxEntries} entries`);
      const abs = join(dir.abs, segment);
      const st = await lstatOrRefuse(abs, rel);
      const entry: PlanEntry = { rel, abs, id: identity(st) };
      if (classify(st, rel, true) === 'directory') dirs.push(entry);
      else addFile(entry);
    }
  }
  if (files.length === 0)
    throw new Refused('empty_directory', 'the directory contains no regular file');
  return { kind, dirs, files, totalBytes };
}

async function checkSpace(quarantineDir: string, need: number, limits: IntakeLimits) {
  const fs = await statfs(quarantineDir, { bigint: true });
  const available = fs.bavail * fs.bsize;
  const required = BigInt(need) + BigInt(Math.trunc(limits.reserveBytes));
  if (available < required)
    throw new Refused(
      'insufficient_space',
      `${need} bytes to copy plus a ${limits.reserveBytes}-byte reserve, ${available} available`,
    );
}

async function writeAll(fh: FileHandle, buf: Buffer, length: number, position: number) {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}

/** Bytes written between two flushes to disk during a copy. */
const FLUSH_EVERY = 64 * MiB;

/**
 * The copy loop. Chunk k is hashed (this thread) while it is written and chunk k + 1 is read
 * (libuv's pool), and what was written is flushed to disk as the copy goes (one fdatasync at a time, every
 * 64 MiB), so the disk works while the CPU hashes and the final fsync finds little left. The
 * digest and the copy come from the same buffer, so they cannot disagree.
 */
async function copyHashed(
  src: FileHandle,
  dst: FileHandle,
  expected: bigint,
  chunkBytes: number,
  readFailed: (err: unknown) => Refused,
  onChunk: (copied: number) => void | Promise<void>,
): Promise<{ hex: string; copied: number }> {
  const hash = createHash('sha256');
  let current = Buffer.allocUnsafe(chunkBytes);
  let spare = Buffer.allocUnsafe(chunkBytes);
  let copied = 0;
  let writing: Promise<void> = Promise.resolve();
  let flushed: Promise<void> = Promise.resolve();
  let flushInFlight = false;
  let unflushed = 0;
  // Every promise left running is awaited (or caught) before this returns or throws.
  const readAt = (buf: Buffer, position: number) => {
    const p = src.read(buf, 0, chunkBytes, position).catch((err: unknown) => {
      throw readFailed(err);
    });
    p.catch(() => undefined);
    return p;
  };
  let reading = readAt(current, 0);
  try {
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      const filled = current;
      await writing; // the spare buffer's write is done: it may be read into
      if (BigInt(copied + bytesRead) > expected) {
        copied += bytesRead; // grew while copied: the caller refuses it
        break;
      }
      reading = readAt(spare, copied + bytesRead);
      // Writing and hashing only read `filled`: the write runs on the pool while this hashes.
      writing = writeAll(dst, filled, bytesRead, copied);
      writing.catch(() => undefined);
      hash.update(filled.subarray(0, bytesRead));
      copied += bytesRead;
      unflushed += bytesRead;
      if (unflushed >= FLUSH_EVERY && !flushInFlight) {
        unflushed = 0;
        flushInFlight = true;
        const upTo = writing;
        flushed = flushed
          .then(() => upTo)
          .then(() => dst.datasync())
          .finally(() => {
            flushInFlight = false;
          });
        flushed.catch(() => undefined);
      }
      await onChunk(copied);
      current = spare;
      spare = filled;
    }
    await writing;
    await flushed;
    return { hex: hash.digest('hex'), copied };
  } finally {
    await Promise.allSettled([reading, writing, flushed]);
  }
}

/** Copies one planned file to `dest` (created exclusively), hashing it; returns its hex digest. */
async function copyFile(entry: PlanEntry, dest: string, options: IntakeOptions): Promise<string> {
  const rel = entry.rel === '' ? basename(entry.abs) : entry.rel;
  let src: FileHandle;
  try {
    src = await open(entry.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Refused('symlink', `${show(entry.rel)} became a symbolic link`);
    if (code === 'ENOENT')
      throw new Refused('changed_during_copy', `${show(entry.rel)} vanished before it was copied`);
    throw new Refused('unreadable', `${show(entry.rel)}: ${code ?? String(err)}`);
  }
  try {
    const before = await src.stat({ bigint: true });
    if (!before.isFile() || before.nlink !== 1n || !sameIdentity(identity(before), entry.id))
      throw new Refused('changed_during_copy', `${show(entry.rel)} changed after it was inspected`);
    const expected = before.size;
    const dst = await open(
      dest,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    let copy: { hex: string; copied: number };
    try {
      const read = startClock();
      copy = await copyHashed(
        src,
        dst,
        expected,
        chunkBytesOf(options),
        (err) => {
          const code = (err as NodeJS.ErrnoException).code;
          return new Refused('unreadable', `${show(entry.rel)}: ${code ?? String(err)}`);
        },
        (copied) => options.onChunk?.(rel, copied),
      );
      options.onPhase?.('read', read());
      const sync = startClock();
      await dst.sync();
      options.onPhase?.('sync', sync());
      await dst.chmod(0o444);
    } finally {
      await dst.close();
    }
    const after = await src.stat({ bigint: true });
    if (BigInt(copy.copied) !== expected || !sameIdentity(identity(after), identity(before)))
      throw new Refused(
        'changed_during_copy',
        `${show(entry.rel)} changed while it was copied (${expected} bytes expected, ${copy.copied} read)`,
      );
    return copy.hex;
  } finally {
    await src.close();
  }
}

/**
 * A file the caller may consume: hashed where it lies (custody.ts). Taken, it is published with
 * its private directory (`moved`); otherwise it goes down the copy path, as the service left
 * it (its owner and mode may be new: `id`). A change seen after the hash is a refusal.
 */
async function takeInCustody(
  entry: PlanEntry,
  artifactsRoot: string,
  options: IntakeOptions,
): Promise<{ moved: { hex: string; reused: boolean } } | { copy: PlanEntry; why: string }> {
  const rel = basename(entry.abs);
  const area = await lstat(artifactsRoot, { bigint: true });
  const inPlace = await hashInCustody(entry.abs, entry.id, area.dev, {
    chunkBytes: chunkBytesOf(options),
    onChunk: (hashed) => options.onChunk?.(rel, hashed),
    ...(options.onPhase !== undefined ? { onPhase: options.onPhase } : {}),
  });
  if (inPlace.kind === 'changed')
    throw new Refused('changed_during_copy', `${show(entry.rel)} ${inPlace.detail}`);
  if (inPlace.kind === 'taken') {
    const moved = await moveIntoArtifacts(entry.abs, inPlace.hex, inPlace.id, artifactsRoot);
    if (moved !== 'copy') return { moved: { hex: inPlace.hex, reused: moved.reused } };
  }
  const why =
    inPlace.kind === 'copy' ? inPlace.why : 'its directory holds more, or is on another filesystem';
  return { copy: { ...entry, id: inPlace.id }, why };
}

/**
 * Publishes a file taken into custody the way the copy path publishes its `tmp/` directory: its
 * private directory, which holds nothing else (the inbox's claim), becomes `artifacts/<hex>` with
 * one rename. Atomic: an existing snapshot of that digest is reused (ENOTEMPTY) and the source
 * left to its owner, and a crash leaves the drop either in its claim (returned to the inbox at
 * start) or published. `copy` when the directory holds anything else or the rename meets another
 * filesystem after all (EXDEV, a bind mount): the caller copies instead.
 */
async function moveIntoArtifacts(
  source: string,
  hex: string,
  taken: Identity,
  artifactsRoot: string,
): Promise<{ reused: boolean } | 'copy'> {
  const dir = dirname(source);
  if (dirname(dir) === artifactsRoot || (await readdir(dir)).length !== 1) return 'copy';
  const final = join(artifactsRoot, hex);
  try {
    await rename(dir, final);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return { reused: true };
    if (code === 'EXDEV') return 'copy';
    throw err;
  }
  const now = await lstat(join(final, basename(source)), { bigint: true });
  // The directory is private: only a privileged hand could have swapped the name.
  if (now.dev !== taken.dev || now.ino !== taken.ino) {
    await removeTree(final);
    throw new Refused(
      'changed_during_copy',
      `${JSON.stringify(basename(source))} was replaced as it moved`,
    );
  }
  await fsyncDir(dirname(dir));
  await fsyncDir(artifactsRoot);
  return { reused: false };
}

function chunkBytesOf(options: IntakeOptions): number {
  return Math.max(1, options.chunkBytes ?? 4 * MiB);
}

/** Milliseconds since the clock started, when called. */
function startClock(): () => number {
  const started = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - started) / 1e6;
}

/** Removes a tree this module wrote, restoring write permission on its read-only directories. */
/** Removes a tree the quarantine made read-only (directories 0555), as a non-root owner can too. */
export async function removeTree(path: string): Promise<void> {
  const stack = [path];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let st;
    try {
      st = await lstat(dir);
    } catch {
      continue;
    }
    if (!st.isDirectory()) continue;
    await chmod(dir, 0o700).catch(() => undefined);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) stack.push(join(dir, name));
  }
  await rm(path, { recursive: true, force: true });
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The published `artifacts/<hex>`: read-only, holding exactly one entry of the artifact's kind
 * (else `store_conflict`); the snapshot that describes it.
 */
async function settle(
  p: Plan,
  name: string,
  hex: string,
  final: string,
  reused: boolean,
  custody: Snapshot['custody'],
  custodyNote?: string,
): Promise<Snapshot> {
  await chmod(final, 0o555);
  const existing = await readdir(final);
  const stored = existing[0];
  if (existing.length !== 1 || stored === undefined)
    throw new Refused('store_conflict', `artifacts/${hex} holds ${existing.length} entries`);
  const storedSt = await lstat(join(final, stored));
  if (
    (p.kind === 'file') !== storedSt.isFile() ||
    (p.kind === 'directory') !== storedSt.isDirectory()
  )
    throw new Refused('store_conflict', `artifacts/${hex} holds a different kind of artifact`);
  return {
    ok: true,
    kind: p.kind,
    name,
    digest: `sha256:${hex}`,
    sizeBytes: p.totalBytes,
    fileCount: p.files.length,
    path: join(final, stored),
    reused,
    custody,
    ...(custodyNote !== undefined ? { custodyNote } : {}),
  };
}

/** The directory digest is contracts' (one definition for intake and the registry's re-hash). */
export { directoryDigestHex };

/**
 * Snapshots `source` (a file or a directory) into `quarantineDir`. Returns a `Snapshot`, or a
 * `Refusal` with a stable reason for anything the source may be blamed for (links, special or
 * hidden entries, names, limits, changes during the copy, lack of space). Throws only for I/O
 * errors of the quarantine area itself. The temporary copy is removed on every failure.
 */
export async function snapshotArtifact(
  source: string,
  quarantineDir: string,
  limits: Partial<IntakeLimits> = {},
  options: IntakeOptions = {},
): Promise<Snapshot | Refusal> {
  const lim: IntakeLimits = { ...DEFAULT_INTAKE_LIMITS, ...limits };
  const abs = resolve(source);
  const name = basename(abs);
  let tmp: string | undefined;
  let clock = startClock();
  try {
    checkSegment(name, `the name ${JSON.stringify(name)}`);
    if (name === '' || schemaProblems(LogicalName, name).length > 0)
      throw new Refused('invalid_name', `${JSON.stringify(name)} is not a valid logical name`);
    const p = await plan(abs, lim);

    const tmpRoot = join(quarantineDir, 'tmp');
    const artifactsRoot = join(quarantineDir, 'artifacts');
    await mkdir(tmpRoot, { recursive: true, mode: 0o750 });
    await mkdir(artifactsRoot, { recursive: true, mode: 0o750 });
    await checkSpace(quarantineDir, p.totalBytes, lim);
    await options.onPlanned?.({ kind: p.kind, totalBytes: p.totalBytes, files: p.files.length });
    options.onPhase?.('plan', clock());

    let entry = p.files[0]!;
    let custodyNote: string | undefined;
    if (p.kind === 'file' && options.consumeSource === true) {
      const taken = await takeInCustody(entry, artifactsRoot, options);
      if ('moved' in taken) {
        const { hex, reused } = taken.moved;
        clock = startClock();
        const snapshot = await settle(p, name, hex, join(artifactsRoot, hex), reused, 'renamed');
        options.onPhase?.('publish', clock());
        return snapshot;
      }
      entry = taken.copy;
      custodyNote = `copied: ${taken.why}`;
    }

    tmp = join(tmpRoot, randomBytes(16).toString('hex'));
    await mkdir(tmp, { mode: 0o700 });
    const destRoot = join(tmp, name);
    let hex: string;
    if (p.kind === 'file') {
      hex = await copyFile(entry, destRoot, options);
      clock = startClock();
    } else {
      for (const d of p.dirs) await mkdir(join(destRoot, d.rel), { mode: 0o700 });
      const hashed: { rel: string; size: number; sha256: string }[] = [];
      for (const f of p.files) {
        const sha256 = await copyFile(f, join(destRoot, f.rel), options);
        hashed.push({ rel: f.rel, size: Number(f.id.size), sha256 });
      }
      // An entry added, removed or renamed during the copy changes its directory's times.
      for (const d of p.dirs) {
        const now = await lstat(d.abs, { bigint: true }).catch(() => undefined);
        if (!now || !sameIdentity(identity(now), d.id))
          throw new Refused('changed_during_copy', `${show(d.rel)} changed while it was copied`);
      }
      hex = directoryDigestHex(hashed);
      clock = startClock();
      for (const d of [...p.dirs].reverse()) {
        const path = join(destRoot, d.rel);
        await fsyncDir(path);
        await chmod(path, 0o555);
      }
    }
    await fsyncDir(tmp);

    const final = join(artifactsRoot, hex);
    let reused = false;
    try {
      await rename(tmp, final);
      tmp = undefined;
      await fsyncDir(artifactsRoot);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      reused = true;
    }
    const snapshot = await settle(p, name, hex, final, reused, 'copied', custodyNote);
    if (tmp !== undefined) {
      await removeTree(tmp);
      tmp = undefined;
    }
    options.onPhase?.('publish', clock());
    return snapshot;
  } catch (err) {
    if (tmp !== undefined) await removeTree(tmp);
    if (err instanceof Refused) return { ok: false, reason: err.reason, detail: err.detail };
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC')
      return {
        ok: false,
        reason: 'insufficient_space',
        detail: 'the quarantine area ran out of space',
      };
    throw err;
  }
}

/**
 * Crash recovery: removes every copy left in `<quarantineDir>/tmp/` by an intake that did not
 * finish. Call it at service start, before any intake runs (it would remove a copy in progress).
 * Entries whose names are not 32 lowercase hex characters are left alone and reported.
 */
export async function cleanupIncomplete(
  quarantineDir: string,
): Promise<{ removed: string[]; ignored: string[] }> {
  const tmpRoot = join(quarantineDir, 'tmp');
  let names: string[];
  try {
    names = await readdir(tmpRoot);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: [], ignored: [] };
    throw err;
  }
  const removed: string[] = [];
  const ignored: string[] = [];
  for (const n of names.sort()) {
    if (TMP_NAME.test(n)) {
      await removeTree(join(tmpRoot, n));
      removed.push(n);
    } else ignored.push(n);
  }
  return { removed, ignored };
}
