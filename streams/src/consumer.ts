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
import { TYPE_HEADER } from './eventStore.js';

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
  /** Types this consumer handles; others are acked unread (by header). Omit for all. */
  types?: readonly EventType[];
  handler: EventHandler;
  /** Where events come from and where refusals are recorded (the consumer's own identity). */
  store: EventStore;
  /** Backoff for transient handler failures; the last value repeats. */
  nakDelaysMs?: readonly number[];
  deliverPolicy?: 'all' | 'new';
  ackWaitMs?: number;
  onError?: (err: unknown, meta: DeliveryMeta) => void;
}

export interface RunningConsumer {
  readonly durable: string;
  stats: { handled: number; skipped: number; rejected: number; retried: number };
  stop(): Promise<void>;
  /** Resolves once the consumer has processed everything up to `seq` (tests, replay). */
  caughtUp(seq: number, timeoutMs?: number): Promise<void>;
}

const DEFAULT_NAK_DELAYS = [100, 500, 2000, 5000, 15000];

/**
 * A durable pull consumer that verifies every envelope before the handler sees it.
 * - verified and handled: `ack` after the handler's effect is durable (it resolved);
 * - handler threw: `nak` with backoff, the message comes back (transient failure);
 * - verification failed: `term` (never redelivered, never processed) and a
 *   `security.envelope.rejected` event on the consumer's own service aggregate.
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
    deliver_policy: options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    filter_subject: options.filterSubject,
    ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
    max_deliver: -1,
    max_ack_pending: 1000,
  };
  await jsm.consumers.add(stream, config);
  const consumer = await js.consumers.get(stream, options.durable);
  // Short expiry: after a bus restart missed heartbeats renew the pull within seconds.
  const messages = await consumer.consume({ max_messages: 256, expires: 5000 });
  const handled = options.types ? new Set<string>(options.types) : undefined;
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
    const type = m.headers?.get(TYPE_HEADER);
    if (handled && (!type || !handled.has(type))) {
      m.ack();
      stats.skipped++;
      settle(m.seq);
      return;
    }
    let event: VerifiedEvent;
    try {
      event = options.store.verifyMessage(m);
      // The header only lets consumers skip unread; a header that lies about the signed type
      // is tampering, not a routing hint.
      if (type !== undefined && type !== '' && type !== event.event.type) {
        throw new EnvelopeError(
          'ENVELOPE_MALFORMED',
          `${TYPE_HEADER} says ${type}, the signed event is ${event.event.type}`,
          {
            type: event.event.type,
            source: event.event.source,
            subject: event.event.subject,
            id: event.event.id,
          },
        );
      }
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
      m.term(err.code);
      stats.rejected++;
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
