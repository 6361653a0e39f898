import { parentPort } from 'node:worker_threads';
import { hash } from 'node:crypto';
import type { DigestJob, DigestReply } from './digestThread.js';
import { mayBeSeal } from './sealFilter.js';

/**
 * The thread behind `DigestThread`: for each entry of a job, the SHA-256 of its bytes exactly as
 * stored (`entryDigest`) and whether it may be a seal (`mayBeSeal`). Nothing else: chaining,
 * seal verification and every decision stay on the verifying thread. Runs from `dist/`.
 */
const port = parentPort;
if (port === null) throw new Error('digestWorker.js runs as a worker thread');
port.on('message', (job: DigestJob) => {
  const { id, shared, offsets } = job;
  const bytes = new Uint8Array(shared);
  const count = offsets.length - 1;
  const digests = new Uint8Array(32 * count);
  const flags = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const entry = bytes.subarray(offsets[i], offsets[i + 1]);
    // `entryDigest` (chain.ts), without loading the contracts package into this thread.
    digests.set(hash('sha256', entry, 'buffer'), 32 * i);
    flags[i] = mayBeSeal(entry) ? 1 : 0;
  }
  const reply: DigestReply = { id, digests, flags };
  port.postMessage(reply, [digests.buffer, flags.buffer]);
});
