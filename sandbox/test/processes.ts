// Finding test processes on the host by a marker in their argv (shared by the sandbox specs).
import { readdir, readFile } from 'node:fs/promises';
import { expect } from 'vitest';

/** Host pids whose argv carries the marker. */
export async function pidsWithMarker(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (cmdline.includes(marker) && state !== 'Z') found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/**
 * Waits until no live process carries the marker. A SIGKILLed process is gone only once the
 * kernel has run its exit, which on a loaded machine can be after runSandboxed returned; a
 * survivor keeps the marker until the bound and fails the test.
 */
export async function expectNoneLeft(marker: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let left = await pidsWithMarker(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = await pidsWithMarker(marker);
  }
  expect(left).toEqual([]);
}
