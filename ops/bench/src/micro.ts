import {
  catalogue,
  schemaProblems,
  signEvent,
  verifyEnvelope,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import { GENESIS_HEAD, entryDigest, headBytes, linkDigest } from '@secai/projections';
import { policyDecision } from './events.js';
import { subjectOf } from './publish.js';
import { latency, type Latency } from './stats.js';

/** Times `op(i)` one call at a time, after `warmup` untimed calls. */
function timeEach(iterations: number, warmup: number, op: (i: number) => unknown): Float64Array {
  for (let i = 0; i < warmup; i++) op(i);
  const samples = new Float64Array(iterations);
  let sink: unknown;
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    sink = op(warmup + i);
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  if (sink === undefined) throw new Error('the operation returned nothing');
  return samples;
}

export interface MicroResults {
  signEvent: Latency;
  verifyEnvelope: Latency;
  chainLink: Latency;
  /** Producer-side schema check that `EventStore.append` runs before signing. */
  schemaCheck: Latency;
  envelopeBytes: number;
}

/**
 * (e) In-process costs per operation on one core: `signEvent` (build the CloudEvent, serialise,
 * Ed25519 sign, encode the envelope) and `verifyEnvelope` (every §3.3 check, schema included),
 * plus one chain link (what chain-only `events verify` pays per entry besides reading).
 */
export function microBenchmarks(
  signer: Signer,
  trust: TrustStore,
  iterations: number,
  warmup: number,
): MicroResults {
  const now = new Date();
  const sign = latency(
    timeEach(iterations, warmup, (i) => signEvent(policyDecision(i, now), signer, { now })),
  );

  const envelopes = Array.from({ length: 1024 }, (_, i) => {
    const { event, bytes } = signEvent(policyDecision(i, now), signer, { now });
    return { subject: subjectOf(event.subject), bytes };
  });
  const verify = latency(
    timeEach(iterations, warmup, (i) => {
      const { subject, bytes } = envelopes[i % envelopes.length]!;
      return verifyEnvelope(bytes, trust, { natsSubject: subject, streamSeq: i + 1 });
    }),
  );

  // As verifyHistory does it: SHA-256 of the stored bytes, then one link over raw bytes.
  let head = headBytes(GENESIS_HEAD);
  const chain = latency(
    timeEach(iterations, warmup, (i) => {
      head = linkDigest(head, i + 1, entryDigest(envelopes[i % envelopes.length]!.bytes));
      return head;
    }),
  );
  const schema = catalogue['policy.decided'].schema;
  const drafts = Array.from({ length: 1024 }, (_, i) => policyDecision(i, now));
  const schemaCheck = latency(
    timeEach(iterations, warmup, (i) => schemaProblems(schema, drafts[i % drafts.length]!.data)),
  );
  const envelopeBytes = Math.round(
    envelopes.reduce((sum, e) => sum + e.bytes.length, 0) / envelopes.length,
  );
  return {
    signEvent: sign,
    verifyEnvelope: verify,
    chainLink: chain,
    schemaCheck,
    envelopeBytes,
  };
}
