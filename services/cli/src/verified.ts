import { EnvelopeError, verifyEnvelope, type CloudEvent, type TrustStore } from '@secai/contracts';
import { readHistory, type HistoryRange } from '@secai/streams';
import type { CliContext } from './context.js';

/**
 * Keeps only the entries whose envelope verifies at its place (sequence, NATS subject where the
 * entry carries one, type header), in order. Refused envelopes are skipped and counted in
 * `tally.refused` (`events verify` is where they are reported); nothing unverified is yielded.
 */
export async function* verifiedEntries(
  entries: AsyncIterable<{
    seq: number;
    bytes: Uint8Array;
    subject?: string;
    type?: string | undefined;
  }>,
  trust: TrustStore,
  tally: { refused: number } = { refused: 0 },
): AsyncGenerator<{ seq: number; event: CloudEvent }> {
  for await (const e of entries) {
    try {
      // Every check the live consumers apply: its place, its subject, its type header.
      const at = {
        streamSeq: e.seq,
        ...(e.subject !== undefined ? { natsSubject: e.subject } : {}),
        ...(e.type !== undefined && e.type !== '' ? { typeHeader: e.type } : {}),
      };
      yield { seq: e.seq, event: verifyEnvelope(e.bytes, trust, at).event };
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      tally.refused++;
    }
  }
}

/** The verified events of a stream range. */
export function verifiedEvents(
  ctx: CliContext,
  range: HistoryRange,
  tally: { refused: number } = { refused: 0 },
): AsyncGenerator<{ seq: number; event: CloudEvent }> {
  return verifiedEntries(readHistory(ctx.js, ctx.jsm, ctx.stream, range), ctx.trust, tally);
}
