import type { BusHealth, RunningConsumer } from '@secai/streams';

type ConsumerLag = Awaited<ReturnType<RunningConsumer['lag']>>;

// The observation intake as `/health` shows it: how far the observation consumers are behind the
// stream, and whether the bus is there. A flood that blinds the recorder must show (issue 10 §1:
// delivery stopped while `/health` said ok).

/** The last answer of the server about the intake's lanes (null: could not ask). */
export interface LagSample {
  /** Sum over the lanes of what is stored and not yet settled. */
  total: number;
  consumers: ConsumerLag[];
  at: string;
}

export interface IntakeHealth {
  ok: boolean;
  /** Why not ok, for people (empty when ok). */
  reasons: string[];
}

/**
 * Pure: the intake is healthy when the bus is connected, the lanes' lag is known and within
 * `maxLag`. An unknown lag (the server did not answer) is not healthy: it cannot be told apart
 * from a blind recorder.
 */
export function intakeHealth(
  sample: LagSample | null,
  maxLag: number,
  bus: Pick<BusHealth, 'state'>,
): IntakeHealth {
  const reasons: string[] = [];
  if (bus.state !== 'connected') reasons.push(`bus ${bus.state}`);
  if (sample === null) reasons.push('observation lag unknown');
  else if (sample.total > maxLag) reasons.push(`observation lag ${sample.total} above ${maxLag}`);
  return { ok: reasons.length === 0, reasons };
}

/** The general consumer and the priority lanes, seen as one. */
export interface ObservationIntake {
  readonly consumers: readonly RunningConsumer[];
  stats: () => RunningConsumer['stats'];
  /** Resolves once every lane has settled what it reads up to `seq` (tests, benchmarks). */
  caughtUp(seq: number, timeoutMs?: number): Promise<void>;
  /** The latest lag sample (refreshed every `everyMs`; never a request per `/health`). */
  lag(): LagSample | null;
  /** Resolves after the first sample (so a fresh recorder does not report an unknown lag). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Combines the lanes and samples their lag in the background: `/health` is public, so it reads
 * the last sample instead of asking the server on every call.
 */
export function observationIntake(
  consumers: readonly RunningConsumer[],
  options: { everyMs?: number; now?: () => Date } = {},
): ObservationIntake {
  const now = options.now ?? (() => new Date());
  let sample: LagSample | null = null;
  let sampling: Promise<void> | null = null;
  const refresh = async () => {
    try {
      const lags = await Promise.all(consumers.map((c) => c.lag()));
      sample = {
        total: lags.reduce((sum, l) => sum + l.lag, 0),
        consumers: lags,
        at: now().toISOString(),
      };
    } catch {
      sample = null;
    }
  };
  const tick = () => {
    sampling ??= refresh().finally(() => (sampling = null));
  };
  const first = refresh();
  const timer = setInterval(tick, options.everyMs ?? 1000);
  timer.unref();

  return {
    consumers,
    ready: first,
    stats: () => {
      const total = { handled: 0, skipped: 0, rejected: 0, retried: 0 };
      for (const c of consumers)
        for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += c.stats[k];
      return total;
    },
    async caughtUp(seq, timeoutMs = 10_000) {
      // A lane reads only its own subjects, so "its last settled sequence ≥ seq" may never hold:
      // nothing left on its filter (the server's count) says the same for everything stored.
      const deadline = Date.now() + timeoutMs;
      await Promise.all(
        consumers.map(async (c) => {
          let reached = false;
          c.caughtUp(seq, timeoutMs).then(
            () => (reached = true),
            () => undefined,
          );
          while (!reached && (await c.lag()).lag > 0) {
            if (Date.now() > deadline)
              throw new Error(`observation lane ${c.durable} did not reach ${seq}`);
            await new Promise((r) => setTimeout(r, 25));
          }
        }),
      );
    },
    lag: () => sample,
    async stop() {
      clearInterval(timer);
      await sampling;
      await Promise.all(consumers.map((c) => c.stop()));
    },
  };
}
