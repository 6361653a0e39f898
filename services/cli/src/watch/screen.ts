import { ansi, plain, type Line } from './text.js';

// The terminal edge: the alternate screen, a hidden cursor, raw keys, and a whole-frame redraw
// from the top-left. Everything drawn comes from `renderFrame`; this file only writes it.

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
const LEAVE = '\x1b[0m\x1b[?25h\x1b[?1049l';

export interface Terminal {
  output: NodeJS.WriteStream;
  input: NodeJS.ReadStream;
}

export class Screen {
  #active = false;
  readonly #color: boolean;
  readonly #restore = () => this.leave();

  constructor(
    private readonly term: Terminal,
    options: { color: boolean },
  ) {
    this.#color = options.color;
  }

  get size(): { width: number; height: number } {
    return { width: this.term.output.columns || 80, height: this.term.output.rows || 24 };
  }

  /** Switches to the alternate screen; whatever happens next, the terminal is given back. */
  enter(onKey: (key: string) => void, onResize: () => void): void {
    const { input, output } = this.term;
    this.#active = true;
    output.write(ENTER);
    if (input.isTTY) input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', (data: string) => {
      for (const key of data) onKey(key);
    });
    input.resume();
    output.on('resize', onResize);
    process.once('exit', this.#restore);
  }

  draw(lines: readonly Line[]): void {
    if (!this.#active) return;
    const text = lines.map((l) => (this.#color ? ansi(l) : plain(l)) + '\x1b[K').join('\r\n');
    this.term.output.write(`\x1b[H${text}\x1b[J`);
  }

  /** Gives the terminal back: main screen, cursor, cooked mode. Safe to call twice. */
  leave(): void {
    if (!this.#active) return;
    this.#active = false;
    const { input, output } = this.term;
    process.off('exit', this.#restore);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    output.write(LEAVE);
  }
}

/** Whether to colour: a terminal, and no `NO_COLOR` (https://no-color.org). */
export function wantsColor(output: NodeJS.WriteStream, env = process.env): boolean {
  return Boolean(output.isTTY) && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/**
 * Calls `fn` at most once per `ms`, and always once more after the last request: a burst of
 * events redraws a few times, not once per event, and the final state is always drawn.
 */
export function throttle(fn: () => void, ms: number): { request(): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  return {
    request() {
      if (timer) return;
      const wait = Math.max(0, last + ms - Date.now());
      timer = setTimeout(() => {
        timer = undefined;
        last = Date.now();
        fn();
      }, wait);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
