// Work triggered by an upstream (its tools changed): at most one run per key at a time, and any
// number of triggers during a run make one more run, after a pause. An upstream that sends the
// notification in a loop gets a relisting a second, not a relisting per notification.

export class Coalescer {
  readonly #running = new Set<string>();
  readonly #pending = new Set<string>();

  constructor(
    private readonly pauseMs = 1000,
    private readonly onError: (err: unknown, key: string) => void = () => undefined,
  ) {}

  trigger(key: string, work: () => Promise<void>): void {
    if (this.#running.has(key)) {
      this.#pending.add(key);
      return;
    }
    this.#running.add(key);
    void this.#loop(key, work);
  }

  async #loop(key: string, work: () => Promise<void>): Promise<void> {
    try {
      for (;;) {
        this.#pending.delete(key);
        await work().catch((err: unknown) => this.onError(err, key));
        if (!this.#pending.has(key)) return;
        await new Promise((resolve) => setTimeout(resolve, this.pauseMs).unref());
      }
    } finally {
      this.#running.delete(key);
    }
  }
}
