import { DeliverPolicy } from '@nats-io/jetstream';
import {
  EnvelopeError,
  verifyEnvelope,
  type DurableName,
  type VerifiedEvent,
} from '@secai/contracts';
import { runConsumer, type Logger, type RunningConsumer } from '@secai/streams';
import type { RecorderConnection } from './book.js';
import { OBSERVED_TYPES } from './classifier.js';
import type { IncidentPolicy } from './policy/schema.js';
import type { IncidentRecorder } from './recorder.js';

export const OBSERVATIONS_DURABLE = 'incident-recorder-observations';

/**
 * The priority lanes: high-severity observations read by durables of their own, each with its own
 * unacknowledged window, so that a flood on any other subject never delays them (issue 10 §1).
 * Only the emitters of these aggregates may publish there (the runtime attestor, the integrity
 * monitor; the registry and inference), and none of the others can. One durable per aggregate:
 * nats-server 2.9 takes one filter subject per consumer.
 */
export const PRIORITY_LANES = [
  { durable: 'incident-recorder-priority', filterSubject: 'secai.evt.attestation.>' },
  { durable: 'incident-recorder-priority-integrity', filterSubject: 'secai.evt.integrity.>' },
  { durable: 'incident-recorder-priority-model', filterSubject: 'secai.evt.model.>' },
] as const satisfies readonly { durable: DurableName; filterSubject: string }[];

export const ATTESTATION_LANE = PRIORITY_LANES[0].durable;

/**
 * Observations from every zone (ARCHITECTURE §5.4), in stream order within each lane: the
 * general durable over `secai.evt.>` (everything but the priority lanes' subjects, which it
 * acknowledges unread) and one durable per priority lane. Every message is verified before a
 * type is skipped; a refused envelope is recorded as `security.envelope.rejected` (which comes
 * back here as an observation, and counts towards a refusal flood) and terminated. A handler
 * failure is retried with backoff.
 */
export async function runObservationConsumers(
  conn: RecorderConnection,
  deps: { recorder: IncidentRecorder; log: Logger },
): Promise<RunningConsumer[]> {
  const common = {
    types: OBSERVED_TYPES,
    store: conn.store,
    handler: (verified: VerifiedEvent) => deps.recorder.observe(verified),
    onError: (err: unknown, meta: { seq: number }) =>
      deps.log.error({ err, seq: meta.seq }, 'an observation could not be recorded; will retry'),
  };
  // A lane created after the general durable (an upgrade) starts where the general one stands:
  // what it acknowledged was observed already.
  const general = await ackFloorOf(conn, OBSERVATIONS_DURABLE);
  const running: RunningConsumer[] = [];
  try {
    for (const lane of PRIORITY_LANES) {
      running.push(
        await runConsumer(conn.js, conn.jsm, {
          ...common,
          durable: lane.durable,
          filterSubject: lane.filterSubject,
          ...(general !== null ? { startSeq: general + 1 } : {}),
        }),
      );
    }
    running.push(
      await runConsumer(conn.js, conn.jsm, {
        ...common,
        durable: OBSERVATIONS_DURABLE,
        filterSubject: 'secai.evt.>',
        ignoreSubjects: PRIORITY_LANES.map((l) => l.filterSubject),
      }),
    );
  } catch (err) {
    await Promise.all(running.map((c) => c.stop()));
    throw err;
  }
  return running;
}

/** A durable's ack floor (stream sequence), or null when it does not exist yet. */
export async function ackFloorOf(
  conn: RecorderConnection,
  durable: string,
): Promise<number | null> {
  try {
    return (await conn.jsm.consumers.info(conn.store.stream, durable)).ack_floor.stream_seq;
  } catch {
    return null;
  }
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
