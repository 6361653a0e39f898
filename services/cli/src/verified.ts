import { EnvelopeError, verifyEnvelope, type CloudEvent, type TrustStore } from '@secai/contracts';
import { readHistory, type HistoryRange } from '@secai/streams';
import type { CliContext } from './context.js';

/**
 * Keeps only the entries whose envelope verifies (stream entries carry their NATS subject,
 * bundle entries do not), in order. Refused envelopes are skipped and counted in
 * `tally.refused` (`events verify` is where they are reported); nothing unverified is yielded.
 */
export async function* verifiedEntries(
  entries: AsyncIterable<{ seq: number; bytes: Uint8Array; subject?: string }>,
  trust: TrustStore,
  tally: { refused: number } = { refused: 0 },
): AsyncGenerator<{ seq: number; event: CloudEvent }> {
  for await (const e of entries) {
    try {
      const at =
        e.subject === undefined
          ? { streamSeq: e.seq }
          : { natsSubject: e.subject, streamSeq: e.seq };
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
