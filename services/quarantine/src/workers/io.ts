import { readFileSync } from 'node:fs';

// What every stage worker does with its pipes: one JSON request on stdin, one JSON verdict on
// stdout (runStage parses exactly one value and keeps only flat facts).

export interface WorkerRequest<P> {
  path: string;
  kind: 'file' | 'directory';
  params: P;
}

export async function readRequest<P>(): Promise<WorkerRequest<P>> {
  let raw = '';
  for await (const chunk of process.stdin) raw += String(chunk);
  return JSON.parse(raw) as WorkerRequest<P>;
}

/**
 * Peak resident memory of this process image, KiB: `VmHWM`, which starts afresh at exec (the
 * rusage maximum can carry the forking parent's size over), else the rusage figure.
 */
export function peakRssKiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall back below
  }
  return process.resourceUsage().maxRSS;
}

/** Prints the verdict with the worker's own peak resident memory (its children not included). */
export function printVerdict(verdict: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...verdict, peak_rss_kib: peakRssKiB() }));
}
