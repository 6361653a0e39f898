import { createHash } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { IntegrityError } from './errors.js';
import {
  belongsTo,
  fixedPrefix,
  hasGlob,
  isExcluded,
  matchSegment,
  segmentsOf,
  type PathSet,
} from './patterns.js';
import { modeString, printable, type FileRecord } from './records.js';

// The file system as the monitor sees it: patterns expanded, trees walked without following any
// link, every regular file hashed (SHA-256, streamed), modes and owners read. Everything is on one
// thread: reads run in libuv's pool, `concurrency` files at a time, and hashing on the main
// thread (the reference's unit gave the monitor 15 % of a CPU: a second core is not ours to take).

export const DEFAULT_CONCURRENCY = 8;
/** Entries one observation may hold (a pattern that matches half the disk is a mistake). */
export const MAX_ENTRIES = 250_000;
const CHUNK_BYTES = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface Observation {
  records: Map<string, FileRecord>;
  /** Directories walked (what a watcher should watch). */
  dirs: Set<string>;
  filesHashed: number;
  bytesHashed: number;
}

export interface ObserverOptions {
  concurrency?: number;
  maxEntries?: number;
}

function newObservation(): Observation {
  return { records: new Map(), dirs: new Set(), filesHashed: 0, bytesHashed: 0 };
}

function typeOf(st: Stats): FileRecord['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'link';
  return 'other';
}

function recordOf(path: string, st: Stats): FileRecord {
  return {
    path,
    type: typeOf(st),
    digest: null,
    size: st.isFile() ? st.size : 0,
    mode: modeString(st.mode),
    owner: `${st.uid}:${st.gid}`,
    target: null,
  };
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'EIO';
}

/** A counting semaphore: at most `n` sections at once. */
class Limiter {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async run<T>(section: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await section();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

export class Observer {
  readonly #limiter: Limiter;
  readonly #buffers: Buffer[] = [];
  readonly #maxEntries: number;

  constructor(options: ObserverOptions = {}) {
    this.#limiter = new Limiter(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
    this.#maxEntries = options.maxEntries ?? MAX_ENTRIES;
  }

  #add(out: Observation, r: FileRecord): void {
    if (out.records.size >= this.#maxEntries)
      throw new IntegrityError(
        'TOO_MANY_ENTRIES',
        `more than ${this.#maxEntries} entries: narrow the patterns or add excludes`,
      );
    out.records.set(r.path, r);
  }

  /** One path, never followed: a record (files hashed), or null when nothing is there. */
  async probe(path: string, hash = true): Promise<FileRecord | null> {
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null;
      return { ...recordUnknown(path), error: errno(err) };
    }
    if (st.isSymbolicLink()) {
      const target = await readlink(path).catch(() => '');
      return { ...recordOf(path, st), target };
    }
    if (st.isFile() && hash) return this.#limiter.run(() => this.#hashFile(path));
    return recordOf(path, st);
  }

  /** Hashes a regular file through a descriptor opened without following links. */
  async #hashFile(path: string): Promise<FileRecord | null> {
    const buf = this.#buffers.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
    try {
      let fh;
      try {
        fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (err) {
        const code = errno(err);
        if (code === 'ENOENT') return null;
        // Swapped for a link between the lstat and the open: record the link.
        if (code === 'ELOOP') return this.probe(path, false);
        const st = await lstat(path).catch(() => null);
        return st ? { ...recordOf(path, st), error: code } : null;
      }
      try {
        const st = await fh.stat();
        if (!st.isFile()) return recordOf(path, st);
        const hash = createHash('sha256');
        let position = 0;
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, position);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
          position += bytesRead;
          // A short read of a regular file is its end (Linux): saves one read per small file.
          if (bytesRead < buf.length) break;
        }
        return { ...recordOf(path, st), size: position, digest: `sha256:${hash.digest('hex')}` };
      } catch (err) {
        return { ...recordUnknown(path), type: 'file', error: errno(err) };
      } finally {
        await fh.close();
      }
    } finally {
      this.#buffers.push(buf);
    }
  }

  /** Walks `path` (a root or a path inside one) into `out`, skipping what the set excludes. */
  async #walk(
    path: string,
    set: PathSet | null,
    out: Observation,
    hash: boolean,
    isFile = false,
  ): Promise<void> {
    if (set && isExcluded(set, path)) return;
    // A directory entry that says "regular file" is opened directly (O_NOFOLLOW still refuses a
    // link swapped in meanwhile); anything else is looked at with lstat first.
    const r =
      isFile && hash
        ? await this.#limiter.run(() => this.#hashFile(path))
        : await this.probe(path, hash);
    if (!r) return;
    this.#add(out, r);
    if (r.type === 'file' && r.digest !== null) {
      out.filesHashed++;
      out.bytesHashed += r.size;
    }
    if (r.type !== 'dir') return;
    out.dirs.add(path);
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(path, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      if (errno(err) !== 'ENOENT') this.#add(out, { ...r, error: errno(err) });
      return;
    }
    const base = path === '/' ? '' : path;
    await Promise.all(
      entries.map(async (e) => {
        let name: string;
        try {
          name = utf8.decode(e.name);
        } catch {
          // Not UTF-8: it cannot be named in an event as is, nor opened by a string path.
          await this.#oddName(path, e.name, out);
          return;
        }
        // eslint-disable-next-line no-control-regex
        if (/[\x00-\x1f\x7f]/.test(name)) {
          await this.#oddName(path, e.name, out);
          return;
        }
        await this.#walk(`${base}/${name}`, set, out, hash, e.isFile());
      }),
    );
  }

  /** A name with bytes an event cannot carry: recorded (escaped) by its type, never read. */
  async #oddName(dir: string, name: Buffer, out: Observation): Promise<void> {
    const full = Buffer.concat([Buffer.from(`${dir === '/' ? '' : dir}/`), name]);
    const st = await lstat(full).catch(() => null);
    if (!st) return;
    const shown = printable(
      `${dir === '/' ? '' : dir}/${[...name].map((b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16)}`)).join('')}`,
    );
    this.#add(out, { ...recordOf(shown, st), type: st.isDirectory() ? 'dir' : 'other' });
  }

  /** Every path the set's patterns match now (`watch` collects directories to watch). */
  async expand(set: PathSet, watch?: Set<string>): Promise<string[]> {
    const roots = new Set<string>();
    for (const pattern of set.patterns)
      for (const r of await expandPattern(pattern, watch)) roots.add(r);
    return [...roots].sort();
  }

  /** Everything the set covers, hashed; `dirs` also holds what a watcher needs. */
  async observeSet(set: PathSet, hash = true): Promise<Observation> {
    const out = newObservation();
    const watch = new Set<string>();
    for (const root of await this.expand(set, watch)) await this.#walk(root, set, out, hash);
    for (const d of watch) out.dirs.add(d);
    return out;
  }

  /**
   * The subtrees of `paths` that belong to the set (a check of what notifications named). A path
   * that does not belong to the set contributes nothing.
   */
  async observePaths(set: PathSet, paths: readonly string[], hash = true): Promise<Observation> {
    const out = newObservation();
    for (const p of paths) if (belongsTo(set, p)) await this.#walk(p, set, out, hash);
    return out;
  }

  /** One tree, no excludes; files hashed only when asked (the model store is hashed by model). */
  async observeTree(root: string, hash: boolean): Promise<Observation> {
    const out = newObservation();
    await this.#walk(root, null, out, hash);
    return out;
  }
}

function recordUnknown(path: string): FileRecord {
  return { path, type: 'other', digest: null, size: 0, mode: '0000', owner: '?:?', target: null };
}

/**
 * The paths a pattern matches now (glob segments read from the disk; links not followed). With
 * `watch`, collects the directories a watcher needs to see new matches appear: the deepest
 * existing directory of the fixed prefix, every directory a glob was read in, and each match's
 * parent.
 */
export async function expandPattern(pattern: string, watch?: Set<string>): Promise<string[]> {
  const prefix = fixedPrefix(pattern);
  const rest = segmentsOf(pattern).slice(segmentsOf(prefix).length);
  if (watch) {
    let dir = prefix;
    while (dir !== '/' && !(await isDirectory(dir)))
      dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
    watch.add(dir);
  }
  let current = [prefix];
  for (const [i, seg] of rest.entries()) {
    const last = i === rest.length - 1;
    const next: string[] = [];
    for (const dir of current) {
      if (!hasGlob(seg)) {
        next.push(`${dir === '/' ? '' : dir}/${seg}`);
        continue;
      }
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
      if (!entries) continue;
      watch?.add(dir);
      for (const e of entries) {
        // Only real directories lead further; the last segment may match anything.
        if (!matchSegment(seg, e.name) || (!last && !e.isDirectory())) continue;
        next.push(`${dir === '/' ? '' : dir}/${e.name}`);
      }
    }
    current = next;
  }
  const existing: string[] = [];
  for (const p of current) {
    if (
      !(await lstat(p).then(
        () => true,
        () => false,
      ))
    )
      continue;
    existing.push(p);
    watch?.add(p.slice(0, p.lastIndexOf('/')) || '/');
  }
  return existing;
}

async function isDirectory(path: string): Promise<boolean> {
  return lstat(path).then(
    (st) => st.isDirectory(),
    () => false,
  );
}
