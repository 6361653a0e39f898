import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Latency, Throughput } from './stats.js';

export interface Row {
  measure: string;
  /** Events per run, or iterations for per-operation figures. */
  n: number;
  runs: number;
  value: string;
  spread: string;
  note: string;
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

export function rate(value: number): string {
  return `${int.format(value)} ev/s`;
}

export function throughputRow(measure: string, t: Throughput, note = ''): Row {
  return {
    measure,
    n: t.events,
    runs: t.runs.length,
    value: rate(t.median),
    spread: `${int.format(t.min)}–${int.format(t.max)}`,
    note,
  };
}

export function latencyRow(measure: string, l: Latency, note = ''): Row {
  return {
    measure,
    n: l.iterations,
    runs: 1,
    value: `${one.format(l.medianUs)} µs`,
    spread: `p99 ${one.format(l.p99Us)} µs`,
    note: note || `≈ ${int.format(l.opsPerSecond)} op/s on one core`,
  };
}

export function ratioRow(measure: string, value: number, note: string): Row {
  return { measure, n: 0, runs: 0, value: `${value.toFixed(2)}×`, spread: '', note };
}

/** A plain-text table (monospace, no dependencies). */
export function renderTable(rows: readonly Row[]): string {
  const header = ['measure', 'events/run', 'runs', 'median', 'min–max / p99', 'note'];
  const cells = rows.map((r) => [
    r.measure,
    r.n === 0 ? '' : int.format(r.n),
    r.runs === 0 ? '' : String(r.runs),
    r.value,
    r.spread,
    r.note,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const right = new Set([1, 2, 3]);
  const line = (row: readonly string[]) =>
    row
      .map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

export { int as formatInt };
