import { EnvelopeError, verifyEnvelope, type CloudEvent } from '@secai/contracts';
import { readHistory, type HistoryRange } from '@secai/streams';
import type { CliContext } from './context.js';

/**
 * The verified events of a stream range, in order. Refused envelopes are skipped and counted in
 * `tally.refused` (`events verify` is where they are reported); nothing unverified is yielded.
 */
export async function* verifiedEvents(
  ctx: CliContext,
  range: HistoryRange,
  tally: { refused: number } = { refused: 0 },
): AsyncGenerator<{ seq: number; event: CloudEvent }> {
  for await (const e of readHistory(ctx.js, ctx.jsm, ctx.stream, range)) {
    try {
      const { event } = verifyEnvelope(e.bytes, ctx.trust, {
        natsSubject: e.subject,
        streamSeq: e.seq,
      });
      yield { seq: e.seq, event };
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      tally.refused++;
    }
  }
}
