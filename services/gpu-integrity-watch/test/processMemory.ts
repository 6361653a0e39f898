import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';

// The attacker of the sentinel test: something that writes into the memory of the process that
// runs the model (a debugger, a kernel exploit, a GPU whose memory went bad), leaving the model
// file intact. The inference service runs inside the test process here, so the test can do it
// through /proc/self/mem: find every copy of some bytes in the process's private writable
// anonymous memory (where node-llama-cpp's CPU buffers are allocated) and overwrite it.

const PROBE_BYTES = 64;
const CHUNK = 16 * 1024 * 1024;

interface Region {
  start: number;
  end: number;
}

async function anonymousWritableRegions(): Promise<Region[]> {
  const maps = await readFile('/proc/self/maps', 'utf8');
  const regions: Region[] = [];
  for (const line of maps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (rw.p) [0-9a-f]+ \S+ \d+\s*(.*)$/.exec(line);
    if (!m) continue;
    const path = m[4]!.trim();
    if (path !== '' && path !== '[heap]') continue;
    regions.push({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16) });
  }
  return regions;
}

/**
 * Overwrites every copy of `original` in this process's anonymous memory with `replacement`
 * (same length); returns how many copies were overwritten. Copies are recognised by their digest,
 * not by comparing with `original`, which is itself one of the copies.
 */
export async function overwriteInOwnMemory(original: Buffer, replacement: Buffer): Promise<number> {
  if (original.length !== replacement.length || original.length < PROBE_BYTES)
    throw new Error('original and replacement must have the same length (at least 64 bytes)');
  const digest = createHash('sha256').update(original).digest('hex');
  const probe = Buffer.from(original.subarray(0, PROBE_BYTES));
  const mem = await open('/proc/self/mem', 'r+');
  try {
    const hits: number[] = [];
    const buf = Buffer.alloc(CHUNK + PROBE_BYTES);
    for (const r of await anonymousWritableRegions()) {
      for (let pos = r.start; pos < r.end; pos += CHUNK) {
        const length = Math.min(CHUNK + PROBE_BYTES, r.end - pos);
        let read: number;
        try {
          ({ bytesRead: read } = await mem.read(buf, 0, length, pos));
        } catch {
          break; // a region that cannot be read (a guard page): skip it
        }
        for (
          let i = buf.indexOf(probe);
          i !== -1 && i < Math.min(CHUNK, read);
          i = buf.indexOf(probe, i + 1)
        )
          hits.push(pos + i);
      }
    }
    let replaced = 0;
    const copy = Buffer.alloc(original.length);
    for (const at of hits) {
      try {
        await mem.read(copy, 0, copy.length, at);
      } catch {
        continue;
      }
      if (createHash('sha256').update(copy).digest('hex') !== digest) continue;
      await mem.write(replacement, 0, replacement.length, at);
      replaced++;
    }
    return replaced;
  } finally {
    await mem.close();
  }
}
