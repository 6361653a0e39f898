import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

/** A progress bar on an interactive terminal; silent with --json or when piped. */
export function progress(label: string, total: number, json: boolean | undefined): Progress {
  if (json || !process.stderr.isTTY || total <= 0) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let value = 0;
  return {
    tick(n = 1) {
      value += n;
      if (value % 256 === 0 || value >= total) bar.update(value);
    },
    stop() {
      bar.update(value);
      bar.stop();
    },
  };
}
