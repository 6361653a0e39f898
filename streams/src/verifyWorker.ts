import { parentPort, workerData } from 'node:worker_threads';
import { EnvelopeError, loadTrustStore, verifyEnvelope } from '@secai/contracts';
import type { VerifyJob, WorkerData, WorkerReply } from './verifierPool.js';

/**
 * One thread of the `VerifierPool`: builds its own trust store from the bundle once, then
 * verifies batches of envelopes exactly as a consumer would (`verifyEnvelope`). It runs in plain
 * node from `dist/`, so everything it imports resolves to compiled code.
 */
const port = parentPort;
if (!port) throw new Error('verifyWorker.js runs as a worker thread of VerifierPool');

const { bundle, now } = workerData as WorkerData;

let trust: Awaited<ReturnType<typeof loadTrustStore>>;
try {
  trust = await loadTrustStore(bundle, { now: new Date(now) });
} catch (error) {
  port.postMessage({ kind: 'failed', message: messageOf(error) } satisfies WorkerReply);
  process.exit(1);
}

port.on('message', (job: VerifyJob) => {
  try {
    const reply = verifyJob(job);
    port.postMessage(reply, [reply.ok.buffer as ArrayBuffer]);
  } catch (error) {
    // Not an envelope refusal: a bug or a broken job. The caller's batch fails as a whole.
    port.postMessage({
      kind: 'error',
      id: job.id,
      message: messageOf(error),
    } satisfies WorkerReply);
  }
});
port.postMessage({ kind: 'ready' } satisfies WorkerReply);

function verifyJob(job: VerifyJob): Extract<WorkerReply, { kind: 'result' }> {
  const { id, bytes, offsets, seqs, subjects } = job;
  const count = seqs.length;
  const ok = new Uint8Array(count);
  const labels: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const envelope = bytes.subarray(offsets[i], offsets[i + 1]);
    const subject = subjects?.[i];
    try {
      const { event } = verifyEnvelope(
        envelope,
        trust,
        subject === null || subject === undefined
          ? { streamSeq: seqs[i]! }
          : { natsSubject: subject, streamSeq: seqs[i]! },
      );
      ok[i] = 1;
      labels[i] = event.type;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      labels[i] = error.code;
    }
  }
  return { kind: 'result', id, ok, labels };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
