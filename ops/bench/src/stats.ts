/** Small statistics and timing helpers (no dependencies). */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile of `values` (0 < p <= 100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Nanoseconds on the monotonic clock. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** One repeated throughput measure: every run's rate and their median. */
export interface Throughput {
  /** Events per run. */
  events: number;
  /** Events per second of each run, in run order. */
  runs: number[];
  median: number;
  min: number;
  max: number;
}

/** Rates are rounded to whole events per second: the runs differ by far more than that. */
export function throughput(events: number, rates: readonly number[]): Throughput {
  const runs = rates.map(Math.round);
  return { events, runs, median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

/** Per-operation latency in microseconds. */
export interface Latency {
  iterations: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
  /** Operations per second on one core, from the mean. */
  opsPerSecond: number;
}

export function latency(samplesNs: Float64Array): Latency {
  const us = Array.from(samplesNs, (ns) => ns / 1000);
  const mean = us.reduce((a, b) => a + b, 0) / us.length;
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    iterations: us.length,
    medianUs: round(median(us)),
    p99Us: round(percentile(us, 99)),
    meanUs: round(mean),
    opsPerSecond: Math.round(1e6 / mean),
  };
}
