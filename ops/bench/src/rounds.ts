import type { Row } from './report.js';
import { latency, nowNs, type Latency } from './stats.js';

// The comparisons of the firewall benches: the same work done several ways (directly, through
// the firewall, ...), timed one call at a time, interleaved round by round so that a slow phase
// of a shared machine hits every way alike.

export interface Contender {
  run: () => Promise<unknown>;
  /** This contender's calls per round as a fraction of the others' (default 1). */
  share?: number;
}

export interface RoundsOptions {
  /** Calls per contender over all rounds (rounded down to whole rounds). */
  iterations: number;
  rounds: number;
  /** Calls per contender before the measure, not counted. */
  warmup: number;
  /** Prefix of the progress lines (`<name> round r/n`). */
  name: string;
  log: (message: string) => void;
}

export interface Rounds<K extends string> {
  /** Calls per contender of share 1 actually timed. */
  iterations: number;
  latency: Record<K, Latency>;
}

async function time(f: () => Promise<unknown>, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = nowNs();
    await f();
    into.push(Number(nowNs() - t));
  }
}

export async function interleavedRounds<K extends string>(
  contenders: Record<K, Contender>,
  o: RoundsOptions,
): Promise<Rounds<K>> {
  const entries = Object.entries(contenders) as [K, Contender][];
  const warm: number[] = [];
  for (const [, c] of entries) await time(c.run, o.warmup, warm);
  const perRound = Math.max(1, Math.floor(o.iterations / o.rounds));
  const samples = new Map<K, number[]>(entries.map(([k]) => [k, []]));
  for (let round = 1; round <= o.rounds; round++) {
    for (const [k, c] of entries)
      await time(c.run, Math.max(1, Math.floor(perRound * (c.share ?? 1))), samples.get(k)!);
    o.log(`${o.name} round ${round}/${o.rounds}`);
  }
  const out = {} as Record<K, Latency>;
  for (const [k, ns] of samples) out[k] = latency(Float64Array.from(ns));
  return { iterations: perRound * o.rounds, latency: out };
}

/** `a ÷ b`, rounded to `digits` decimals (how many times slower `a` is). */
export function ratio(a: number, b: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round((a / b) * scale) / scale;
}

const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;

/** A latency row in milliseconds: median as the value, p99 as the spread. */
export function msRow(measure: string, l: Latency, n: number, runs: number, note: string): Row {
  return {
    measure,
    n,
    runs,
    value: `${ms(l.medianUs)} median`,
    spread: `p99 ${ms(l.p99Us)}`,
    note,
  };
}

/** The row comparing two latencies measured in the same interleaved rounds. */
export function latencyRatioRow(
  measure: string,
  median: number,
  p99: number,
  runs: number,
  digits: number,
): Row {
  return {
    measure,
    n: 0,
    runs,
    value: `${median.toFixed(digits)}× median`,
    spread: `${p99.toFixed(digits)}× p99`,
    note: 'interleaved rounds in one process; the machine is shared',
  };
}
