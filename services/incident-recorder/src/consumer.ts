import { DeliverPolicy } from '@nats-io/jetstream';
import { EnvelopeError, verifyEnvelope } from '@secai/contracts';
import { runConsumer, type Logger, type RunningConsumer } from '@secai/streams';
import type { RecorderConnection } from './book.js';
import { OBSERVED_TYPES } from './classifier.js';
import type { IncidentPolicy } from './policy/schema.js';
import type { IncidentRecorder } from './recorder.js';

export const OBSERVATIONS_DURABLE = 'incident-recorder-observations';

/**
 * Observations from every zone (ARCHITECTURE §5.4): one durable consumer over `secai.evt.>`
 * (nats-server 2.9 takes one filter subject), reading only the observed types by their header,
 * in stream order. A handler failure is retried with backoff; a refused envelope is terminated
 * and recorded as `security.envelope.rejected`, which comes back here as an observation.
 */
export function runObservationConsumer(
  conn: RecorderConnection,
  deps: { recorder: IncidentRecorder; log: Logger },
): Promise<RunningConsumer> {
  return runConsumer(conn.js, conn.jsm, {
    durable: OBSERVATIONS_DURABLE,
    filterSubject: 'secai.evt.>',
    types: OBSERVED_TYPES,
    store: conn.store,
    handler: (verified) => deps.recorder.observe(verified),
    onError: (err, meta) =>
      deps.log.error({ err, seq: meta.seq }, 'an observation could not be recorded; will retry'),
  });
}

/**
 * Refills the denial-burst windows after a restart: the policy decisions of the longest window
 * before the durable consumer's position (they were handled by the previous run, whose windows
 * died with it). Without this a burst spanning a restart would go unnoticed.
 */
export async function warmBurstWindows(
  conn: RecorderConnection,
  deps: { recorder: IncidentRecorder; policy: IncidentPolicy; log: Logger; now?: Date },
): Promise<number> {
  const longest = Math.max(0, ...deps.policy.denyBursts.map((b) => b.windowSeconds));
  if (longest === 0) return 0;
  let floor: number;
  try {
    const info = await conn.jsm.consumers.info(conn.store.stream, OBSERVATIONS_DURABLE);
    floor = info.ack_floor.stream_seq;
  } catch {
    return 0; // first start: nothing was handled before
  }
  if (floor === 0) return 0;
  const since = new Date((deps.now ?? new Date()).getTime() - longest * 1000);
  const consumer = await conn.js.consumers.get(conn.store.stream, {
    filter_subjects: 'secai.evt.decision.>',
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: since.toISOString(),
  });
  let fed = 0;
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 512, expires: 1000 });
      let got = 0;
      let done = false;
      for await (const m of batch) {
        got++;
        if (m.seq > floor) {
          done = true;
          break;
        }
        try {
          const v = verifyEnvelope(m.data, conn.store.trust, {
            natsSubject: m.subject,
            streamSeq: m.seq,
          });
          deps.recorder.warm(v);
          fed++;
        } catch (err) {
          if (!(err instanceof EnvelopeError)) throw err;
        }
        if (m.info.pending === 0) done = true;
      }
      if (done || got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  deps.log.info({ decisions: fed, since: since.toISOString() }, 'denial-burst windows refilled');
  return fed;
}
