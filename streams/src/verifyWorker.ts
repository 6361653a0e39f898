import { EnvelopeError, loadTrustStore, verifyEnvelope } from '@secai/contracts';
import type { VerifyJob, VerifyReply, WorkerData } from './verifierPool.js';
import { serveWorker, type HandledJob } from './workerPool.js';

/**
 * One thread of the `VerifierPool`: builds its own trust store from the bundle once, then
 * verifies batches of envelopes exactly as a consumer would (`verifyEnvelope`). It runs in plain
 * node from `dist/`, so everything it imports resolves to compiled code.
 */
await serveWorker<WorkerData, VerifyJob, VerifyReply>(
  'verifyWorker.js',
  async ({ bundle, now }) => {
    const trust = await loadTrustStore(bundle, { now: new Date(now) });
    return (job) => verifyJob(job, trust);
  },
);

function verifyJob(
  job: VerifyJob,
  trust: Awaited<ReturnType<typeof loadTrustStore>>,
): HandledJob<VerifyReply> {
  const { bytes, offsets, seqs, subjects } = job;
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
      // Not an envelope refusal: a bug or a broken job. The caller's batch fails as a whole.
      if (!(error instanceof EnvelopeError)) throw error;
      labels[i] = error.code;
    }
  }
  return { reply: { ok, labels }, transfer: [ok.buffer] };
}
