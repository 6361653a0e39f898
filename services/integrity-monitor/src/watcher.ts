import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '@secai/streams';

// File-system notifications (inotify through fs.watch), one non-recursive watch per directory.
// Node 20's `recursive: true` on Linux is emulated in JavaScript with one watch per file and
// synchronous directory reads on the event loop; a watch per directory costs one inotify watch
// each and reports what matters: entries created, deleted, renamed (a link swapped in), written,
// and attribute changes (chmod, chown) of the entries inside it.

export interface WatcherOptions {
  /** Quiet time before the collected paths are handed over. */
  debounceMs: number;
  /** Longest a path waits while changes keep coming (default 4 × debounce, at least 1 s). */
  maxWaitMs?: number;
  onChange: (paths: string[]) => void;
  log: Logger;
}

export class DirWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #pending = new Set<string>();
  readonly #options: WatcherOptions;
  #timer: NodeJS.Timeout | null = null;
  #firstPendingAt = 0;
  #closed = false;
  #warnedLimit = false;

  constructor(options: WatcherOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#watchers.size;
  }

  /** Watches exactly `dirs` (closing the watches of directories no longer listed). */
  reconcile(dirs: Iterable<string>): void {
    const wanted = new Set(dirs);
    for (const [dir, w] of this.#watchers)
      if (!wanted.has(dir)) {
        w.close();
        this.#watchers.delete(dir);
      }
    this.add(wanted);
  }

  add(dirs: Iterable<string>): void {
    if (this.#closed) return;
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      let w: FSWatcher;
      try {
        w = watch(dir, { persistent: false }, (_event, name) => {
          this.#note(name ? `${dir === '/' ? '' : dir}/${name.toString()}` : dir);
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC' && !this.#warnedLimit) {
          this.#warnedLimit = true;
          this.#options.log.warn(
            { watching: this.#watchers.size },
            'inotify watch limit reached (fs.inotify.max_user_watches); the periodic scan still covers the rest',
          );
        }
        continue;
      }
      w.on('error', () => {
        // The directory went away (or became unreadable): its parent's watch reports that.
        w.close();
        if (this.#watchers.get(dir) === w) this.#watchers.delete(dir);
        this.#note(dir);
      });
      this.#watchers.set(dir, w);
    }
  }

  #note(path: string): void {
    if (this.#closed) return;
    if (this.#pending.size === 0) this.#firstPendingAt = Date.now();
    this.#pending.add(path);
    const { debounceMs } = this.#options;
    const maxWait = this.#options.maxWaitMs ?? Math.max(1000, 4 * debounceMs);
    const wait = Math.max(0, Math.min(debounceMs, this.#firstPendingAt + maxWait - Date.now()));
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), wait);
    this.#timer.unref();
  }

  #flush(): void {
    this.#timer = null;
    if (this.#pending.size === 0 || this.#closed) return;
    const paths = [...this.#pending];
    this.#pending.clear();
    this.#options.onChange(paths);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    this.#pending.clear();
  }
}
