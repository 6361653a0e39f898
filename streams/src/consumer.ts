import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { EnvelopeError, type EventType, type VerifiedEvent } from '@secai/contracts';
import type { EventStore } from './eventStore.js';
import { rejectionData } from './rejection.js';
import { subjectMatches } from './permissions.js';

export interface DeliveryMeta {
  seq: number;
  natsSubject: string;
  deliveryCount: number;
}

export type EventHandler = (event: VerifiedEvent, meta: DeliveryMeta) => Promise<void>;

export interface ConsumerOptions {
  /** Durable name: `<service>-<purpose>`. */
  durable: string;
  /** One subject filter (2.9 takes one; several need 2.10). */
  filterSubject: string;
  /**
   * Types this consumer handles; others are acknowledged once verified (never on the header
   * alone: the sender writes it). Omit for all.
   */
  types?: readonly EventType[];
  /**
   * Subject patterns inside `filterSubject` that another consumer of the same service reads and
   * verifies (2.9 takes one filter per consumer, so a lane of its own means a second durable).
   * Messages stored there are acknowledged unread: the subject is the server's, not the
   * sender's, so this is no header trust.
   */
  ignoreSubjects?: readonly string[];
  /** Where a durable that does not exist yet starts (`deliverPolicy` is then ignored). */
  startSeq?: number;
  handler: EventHandler;
  /** Where events come from and where refusals are recorded (the consumer's own identity). */
  store: EventStore;
  /** Backoff for transient handler failures; the last value repeats. */
  nakDelaysMs?: readonly number[];
  deliverPolicy?: 'all' | 'new';
  ackWaitMs?: number;
  onError?: (err: unknown, meta: DeliveryMeta) => void;
}

/** What the server says is not yet settled for one durable. */
export interface ConsumerLag {
  durable: string;
  /** Messages matching the filter not yet delivered plus delivered and not yet acknowledged. */
  lag: number;
  /** Highest stream sequence below which everything is acknowledged. */
  ackFloor: number;
  /** Delivered and not yet acknowledged (bounded by `max_ack_pending`). */
  ackPending: number;
}

export interface RunningConsumer {
  readonly durable: string;
  /** Asks the server (consumer info) how far behind this consumer is. */
  lag(): Promise<ConsumerLag>;
  stats: { handled: number; skipped: number; rejected: number; retried: number };
  stop(): Promise<void>;
  /** Resolves once the consumer has processed everything up to `seq` (tests, replay). */
  caughtUp(seq: number, timeoutMs?: number): Promise<void>;
}

const DEFAULT_NAK_DELAYS = [100, 500, 2000, 5000, 15000];

/**
 * A durable pull consumer that verifies every envelope it reads, whatever its header says.
 * - on an `ignoreSubjects` subject: `ack` unread (another lane of the service verifies it);
 * - verified, a type it does not handle: `ack` (skipped);
 * - verified and handled: `ack` after the handler's effect is durable (it resolved);
 * - handler threw: `nak` with backoff, the message comes back (transient failure);
 * - verification failed, or the header lies about the signed type: a
 *   `security.envelope.rejected` event on the consumer's own service aggregate, then a plain
 *   `term` (never redelivered, never processed; disposed of at once, so refusals cannot fill
 *   `max_ack_pending`).
 */
export async function runConsumer(
  js: JetStreamClient,
  jsm: JetStreamManager,
  options: ConsumerOptions,
): Promise<RunningConsumer> {
  const stream = options.store.stream;
  const config: Partial<ConsumerConfig> = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    ...(options.startSeq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.startSeq }
      : {
          deliver_policy: options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
        }),
    filter_subject: options.filterSubject,
    ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
    max_deliver: -1,
    max_ack_pending: 1000,
  };
  await addDurable(jsm, stream, config);
  const consumer = await js.consumers.get(stream, options.durable);
  // Short expiry: after a bus restart missed heartbeats renew the pull within seconds.
  const messages = await consumer.consume({ max_messages: 256, expires: 5000 });
  const handled = options.types ? new Set<string>(options.types) : undefined;
  const ignored = options.ignoreSubjects ?? [];
  const delays = options.nakDelaysMs ?? DEFAULT_NAK_DELAYS;
  const stats = { handled: 0, skipped: 0, rejected: 0, retried: 0 };
  let lastDone = 0;
  const waiters: { seq: number; resolve: () => void }[] = [];
  const settle = (seq: number) => {
    if (seq > lastDone) lastDone = seq;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.seq <= lastDone) waiters.splice(i, 1)[0]!.resolve();
    }
  };

  const process = async (m: JsMsg) => {
    const meta: DeliveryMeta = {
      seq: m.seq,
      natsSubject: m.subject,
      deliveryCount: m.info.deliveryCount,
    };
    if (ignored.some((pattern) => subjectMatches(pattern, m.subject))) {
      m.ack();
      stats.skipped++;
      settle(m.seq);
      return;
    }
    // Verified before anything else: skipping on the header the sender wrote let a forgery name
    // an unwatched type and pass unread and unrecorded (issue 10 §1).
    let event: VerifiedEvent;
    try {
      // The type header is checked there too: one that lies about the signed type is tampering.
      event = options.store.verifyMessage(m);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) {
        options.onError?.(err, meta);
        m.nak(delays[0]);
        return;
      }
      try {
        // Record first: a refusal that was terminated but not recorded would be lost.
        await recordRejection(options, m, err);
      } catch (e) {
        options.onError?.(e, meta);
        m.nak(delays[Math.min(meta.deliveryCount - 1, delays.length - 1)]);
        return;
      }
      // A bare `+TERM`: nats-server 2.9.10 matches the terminate acknowledgement byte for byte,
      // so `+TERM <reason>` (2.10+) was ignored there and the refusal came back every ack wait,
      // filling `max_ack_pending` under a flood and recorded again each time.
      m.term();
      stats.rejected++;
      settle(m.seq);
      return;
    }
    if (handled && !handled.has(event.event.type)) {
      m.ack();
      stats.skipped++;
      settle(m.seq);
      return;
    }
    try {
      await options.handler(event, meta);
      m.ack();
      stats.handled++;
      settle(m.seq);
    } catch (err) {
      stats.retried++;
      options.onError?.(err, meta);
      m.nak(delays[Math.min(meta.deliveryCount - 1, delays.length - 1)]);
    }
  };

  const loop = (async () => {
    for await (const m of messages) await process(m);
  })();

  return {
    durable: options.durable,
    stats,
    async lag() {
      const info = await jsm.consumers.info(stream, options.durable);
      return {
        durable: options.durable,
        lag: info.num_pending + info.num_ack_pending,
        ackFloor: info.ack_floor.stream_seq,
        ackPending: info.num_ack_pending,
      };
    },
    async stop() {
      await messages.close();
      await loop;
    },
    caughtUp(seq: number, timeoutMs = 10_000) {
      if (lastDone >= seq) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`consumer ${options.durable} did not reach ${seq} (at ${lastDone})`)),
          timeoutMs,
        );
        waiters.push({ seq, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

async function recordRejection(
  options: ConsumerOptions,
  m: JsMsg,
  err: EnvelopeError,
): Promise<void> {
  const service = options.store.signer.service;
  await options.store.appendServiceEvent({
    type: 'security.envelope.rejected',
    aggregateId: service,
    data: rejectionData(
      { consumer: options.durable, natsSubject: m.subject, streamSeq: m.seq },
      err,
      m.data,
    ),
  });
}

/**
 * Creates the durable, or keeps the existing one: a durable that already exists keeps where it
 * is (its start is not reconfigured; 2.9 refuses to change a durable's deliver policy).
 */
async function addDurable(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig>,
): Promise<void> {
  const name = config.durable_name!;
  const existing = await jsm.consumers.info(stream, name).catch(() => null);
  if (existing) {
    const { deliver_policy, opt_start_seq, ...rest } = config;
    void deliver_policy;
    void opt_start_seq;
    const kept = existing.config;
    await jsm.consumers.add(stream, {
      ...rest,
      deliver_policy: kept.deliver_policy,
      ...(kept.opt_start_seq ? { opt_start_seq: kept.opt_start_seq } : {}),
    });
    return;
  }
  await jsm.consumers.add(stream, config);
}
