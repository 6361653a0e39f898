import { hostname } from 'node:os';
import {
  HistoryUnavailable,
  digestOf,
  followBusState,
  openDashboard,
  readVerifiedHistory,
  subscribeLive,
  type DashboardConnection,
  type LiveMessage,
} from './bus.js';
import { verdictOf, type Verdict } from './verdict.js';
import {
  foldRefused,
  foldVerified,
  initialWatchState,
  withSealCheck,
  type WatchState,
} from './fold.js';
import { SealChecker } from './seals.js';
import { renderFrame, type WatchMeta } from './render.js';
import { Screen, throttle, wantsColor } from './screen.js';
import { plain } from './text.js';

export interface WatchOptions {
  stateDir: string;
  natsUrl?: string;
  /** Print one frame (no cursor control, no colour) once the history is read, and exit. */
  once?: boolean;
}

/** Redraws at most this often while events stream in. */
const REDRAW_MS = 100;
/** The clock and the "ago" times move even when nothing happens. */
const TICK_MS = 1_000;
/** Newest history digests remembered to drop their live copies (see `Watch.#flush`). */
const OVERLAP_DIGESTS = 4_096;
/** Live messages kept while the history is read (bounded memory); beyond that the oldest go. */
const WAITING_LIMIT = 50_000;

/**
 * The watch's state over time: verdicts folded in order. Live messages that arrive while the
 * history is read wait, so that an older stored event never overwrites a newer live one; those
 * that were also read from the stream (published between the subscription and the read's end)
 * are recognised by their bytes and dropped.
 */
export class Watch {
  state: WatchState = initialWatchState();
  meta: WatchMeta;
  onChange: () => void = () => {};
  #waiting: LiveMessage[] | null = [];
  readonly #overlap = new Set<string>();

  constructor(private readonly conn: DashboardConnection) {
    this.meta = {
      appliance: `${hostname()}:${conn.stateDir}`,
      natsUrl: conn.natsUrl,
      bus: 'connected',
      history: { status: 'pending' },
      trust: { source: conn.trust.source, rootKeyid: conn.rootKeyid },
    };
  }

  #fold(state: WatchState, v: Verdict): WatchState {
    // The appliance updates the trust bundle before it records a revocation: take the new one.
    if (v.ok && v.event.type === 'identity.revoked')
      void this.conn.refreshTrust().then(() => this.#trustShown());
    return v.ok ? foldVerified(state, v) : foldRefused(state, v);
  }

  live(m: LiveMessage): void {
    if (this.#waiting) {
      if (this.#waiting.length >= WAITING_LIMIT) this.#waiting.shift();
      this.#waiting.push(m);
      return;
    }
    this.state = this.#fold(
      this.state,
      verdictOf(m.bytes, this.conn.trust, {
        seq: null,
        natsSubject: m.subject,
        typeHeader: m.typeHeader,
      }),
    );
    this.onChange();
  }

  setMeta(patch: Partial<WatchMeta>): void {
    this.meta = { ...this.meta, ...patch };
    this.onChange();
  }

  /**
   * Reads and folds the whole stored history (if `dashboard` may) into a fresh state, which
   * replaces the shown one when complete; then the live messages held meanwhile. Called at start
   * and after a reconnect (live events of the outage would otherwise be missing).
   */
  async readHistory(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    this.#waiting ??= [];
    let state = initialWatchState();
    let read = 0;
    let refused = 0;
    const seals = new SealChecker();
    try {
      // A revocation made while the watch was away must be in force before the history is read.
      await this.conn.refreshTrust();
      this.#trustShown();
      await readVerifiedHistory(this.conn, (total) => {
        this.setMeta({ history: { status: 'reading', read: 0, total } });
        return {
          total,
          onEntry: (v, seq, digest) => {
            read++;
            if (!v.ok) refused++;
            seals.add(seq, digest);
            this.#overlap.add(digest.toString('base64'));
            if (this.#overlap.size > OVERLAP_DIGESTS) {
              const oldest = this.#overlap.values().next();
              if (!oldest.done) this.#overlap.delete(oldest.value);
            }
            state = this.#fold(state, v);
            if (v.ok && v.event.type === 'audit.checkpoint.sealed') {
              const seal = v.event.data as { toSeq: number; head: string };
              state = withSealCheck(state, seal.toSeq, seals.check(seal));
            }
          },
          onProgress: (n) => this.setMeta({ history: { status: 'reading', read: n, total } }),
        };
      });
      this.state = state;
      this.meta = { ...this.meta, history: { status: 'done', read, refused } };
    } catch (err) {
      if (!(err instanceof HistoryUnavailable)) throw err;
      this.meta = { ...this.meta, history: { status: 'unavailable', reason: err.message } };
    } finally {
      this.#reading = false;
      this.#flush();
    }
  }

  #reading = false;

  #trustShown(): void {
    this.setMeta({ trust: { source: this.conn.trust.source, rootKeyid: this.conn.rootKeyid } });
  }

  /** After a reconnect: read the history again where it could be read before. */
  reconnected(): void {
    if (this.meta.history.status === 'done') void this.readHistory().catch(() => undefined);
  }

  #flush(): void {
    const waiting = this.#waiting ?? [];
    this.#waiting = null;
    for (const m of waiting)
      if (!this.#overlap.has(digestOf(m.bytes).toString('base64'))) this.live(m);
    this.#overlap.clear();
    this.onChange();
  }
}

/**
 * `secai watch`: connects as `dashboard`, subscribes to live events at once, reads the history
 * where it may, and draws the overview and the event pane until `q`, Ctrl-C or a signal; with
 * `once`, prints one plain frame after the history and returns.
 */
export async function watchCommand(
  options: WatchOptions,
  out: (line: string) => void,
): Promise<void> {
  const conn = await openDashboard(options);
  const watch = new Watch(conn);
  const live = subscribeLive(conn, (m) => watch.live(m));
  try {
    followBusState(conn.nc, (bus) => {
      const wasDown = watch.meta.bus !== 'connected';
      watch.setMeta({ bus });
      if (bus === 'connected' && wasDown) watch.reconnected();
    });
    if (options.once) {
      await watch.readHistory();
      const size = {
        width: process.stdout.columns || 160,
        height: process.stdout.rows || 50,
      };
      for (const line of renderFrame(watch.state, watch.meta, new Date(), size))
        out(plain(line).trimEnd());
      return;
    }
    watch.setMeta({ interactive: true });
    await runScreen(watch, watch.readHistory());
  } finally {
    live.stop();
    await conn.close();
  }
}

/** The full-screen loop: redraw on change (throttled), on resize and every second; quit on q/Ctrl-C. */
async function runScreen(watch: Watch, history: Promise<void>): Promise<void> {
  const screen = new Screen(
    { input: process.stdin, output: process.stdout },
    { color: wantsColor(process.stdout) },
  );
  const draw = () => screen.draw(renderFrame(watch.state, watch.meta, new Date(), screen.size));
  const redraw = throttle(draw, REDRAW_MS);
  let quit!: () => void;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.once(s, quit);
  const tick = setInterval(() => redraw.request(), TICK_MS);
  watch.onChange = () => redraw.request();
  screen.enter(
    (key) => {
      if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04') quit();
    },
    () => draw(),
  );
  draw();
  // A history read that fails for another reason than missing rights ends the watch with it.
  let failure: Error | undefined;
  void history.catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err));
    quit();
  });
  try {
    await quitting;
  } finally {
    clearInterval(tick);
    redraw.cancel();
    watch.onChange = () => {};
    for (const s of signals) process.off(s, quit);
    screen.leave();
  }
  if (failure !== undefined) throw failure;
}
