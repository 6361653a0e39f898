import {
  TYPE_HEADER,
  headers,
  publishSigned,
  type JetStreamClient,
  type SigningPool,
} from '@secai/streams';
import { eventSubject, signEvent, type Signer } from '@secai/contracts';
import { policyDecision } from './events.js';
import { nowNs, secondsSince } from './stats.js';

/** What a publish run stored: each event's stream sequence and exact bytes (for the sealer). */
export interface Published {
  seconds: number;
  /** Stored entries by stream sequence. */
  stored: Map<number, { subject: string; bytes: Uint8Array }>;
  firstSeq: number;
  lastSeq: number;
}

/**
 * Runs `count` publishes with at most `window` in flight: `window` loops, each awaiting its own
 * acknowledgement before starting the next publish.
 */
async function windowed(
  count: number,
  window: number,
  publishOne: (i: number) => Promise<{ seq: number; subject: string; bytes: Uint8Array }>,
): Promise<Published> {
  const stored = new Map<number, { subject: string; bytes: Uint8Array }>();
  let next = 0;
  const start = nowNs();
  const loops = Array.from({ length: Math.min(window, count) }, async () => {
    while (next < count) {
      const i = next++;
      const { seq, subject, bytes } = await publishOne(i);
      stored.set(seq, { subject, bytes });
    }
  });
  await Promise.all(loops);
  const seconds = secondsSince(start);
  const seqs = [...stored.keys()];
  return { seconds, stored, firstSeq: Math.min(...seqs), lastSeq: Math.max(...seqs) };
}

/** Signed envelopes made ahead of time, published as opaque bytes by the raw measure. */
export interface Prebuilt {
  subject: string;
  bytes: Uint8Array;
}

export function prebuild(count: number, signer: Signer, now: Date): Prebuilt[] {
  return Array.from({ length: count }, (_, i) => {
    const { event, bytes } = signEvent(policyDecision(i, now), signer, { now });
    return { subject: subjectOf(event.subject), bytes };
  });
}

/**
 * (a) Raw JetStream publishing: pre-built bytes of the size of a signed envelope, no header, no
 * msgID, nothing computed per event. The ceiling for (b).
 */
export function publishRaw(
  js: JetStreamClient,
  prebuilt: readonly Prebuilt[],
  count: number,
  window: number,
): Promise<Published> {
  return windowed(count, window, async (i) => {
    const { subject, bytes } = prebuilt[i % prebuilt.length]!;
    const ack = await js.publish(subject, bytes);
    return { seq: ack.seq, subject, bytes };
  });
}

/**
 * (a, variant) The raw publish plus what the signed path adds on the wire: a unique `Nats-Msg-Id`
 * (the server's duplicate check) and the `Secai-Type` header. The gap between this and (b) is the
 * cost of building and signing.
 */
export function publishRawWithHeaders(
  js: JetStreamClient,
  prebuilt: readonly Prebuilt[],
  count: number,
  window: number,
  idPrefix: string,
): Promise<Published> {
  return windowed(count, window, async (i) => {
    const { subject, bytes } = prebuilt[i % prebuilt.length]!;
    const h = headers();
    h.set(TYPE_HEADER, 'policy.decided');
    const ack = await js.publish(subject, bytes, { msgID: `${idPrefix}-${i}`, headers: h });
    if (ack.duplicate) throw new Error(`${idPrefix}-${i} was absorbed as a duplicate`);
    return { seq: ack.seq, subject, bytes };
  });
}

/**
 * (b) What `EventStore.append` does per event, minus the per-aggregate expected sequence (which
 * would serialise each aggregate): build the CloudEvent, sign it, publish it with the event id as
 * `Nats-Msg-Id` and its type in the `Secai-Type` header. Everything on this thread.
 */
export function publishSignedInline(
  js: JetStreamClient,
  signer: Signer,
  count: number,
  window: number,
  offset: number,
): Promise<Published> {
  return windowed(count, window, async (i) => {
    const now = new Date();
    const { event, bytes } = signEvent(policyDecision(offset + i, now), signer, { now });
    const h = headers();
    h.set(TYPE_HEADER, event.type);
    const subject = subjectOf(event.subject);
    const ack = await js.publish(subject, bytes, { msgID: event.id, headers: h });
    if (ack.duplicate) throw new Error(`event ${event.id} was absorbed as a duplicate`);
    return { seq: ack.seq, subject, bytes };
  });
}

/**
 * (b′) The same events through `publishSigned`: this thread builds the drafts and publishes (same
 * window, same msgID and header); the `SigningPool`'s worker thread signs batch k + 1 while batch k
 * is published. Timed from the first draft built to the last acknowledgement. Like the measures
 * above, it records each stored envelope (for the sealer) as its acknowledgement arrives.
 */
export async function publishSignedPooled(
  js: JetStreamClient,
  pool: SigningPool,
  count: number,
  window: number,
  offset: number,
): Promise<Published> {
  const stored = new Map<number, { subject: string; bytes: Uint8Array }>();
  const recording: Pick<JetStreamClient, 'publish'> = {
    publish: async (subject, payload, options) => {
      const ack = await js.publish(subject, payload, options);
      stored.set(ack.seq, { subject, bytes: payload as Uint8Array });
      return ack;
    },
  };
  const start = nowNs();
  const drafts = Array.from({ length: count }, (_, i) => policyDecision(offset + i, new Date()));
  const { sequences, duplicates } = await publishSigned(recording, pool, drafts, { window });
  const seconds = secondsSince(start);
  if (duplicates !== 0) throw new Error(`${duplicates} events were absorbed as duplicates`);
  const firstSeq = sequences[0]!;
  const lastSeq = sequences[count - 1]!;
  if (lastSeq - firstSeq + 1 !== count || stored.size !== count) {
    throw new Error(`publishSigned stored ${count} events over seqs ${firstSeq}–${lastSeq}`);
  }
  return { seconds, stored, firstSeq, lastSeq };
}

/** `decision/egress` → `secai.evt.decision.egress` */
export function subjectOf(cloudEventSubject: string): string {
  const slash = cloudEventSubject.indexOf('/');
  return eventSubject(cloudEventSubject.slice(0, slash), cloudEventSubject.slice(slash + 1));
}
