import {
  runConsumer,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type RunningConsumer,
} from '@secai/streams';
import type { Registry } from './registry.js';

export const PROMOTION_DURABLE = 'registry-promotion';

/**
 * Consumes `model.promoted` (ARCHITECTURE §5.1) from `secai.evt.artifact.>` with a durable
 * consumer: each promotion is re-hashed and moved into the store, then `model.stored` is recorded.
 * A handler failure (an I/O error, the bus) is retried with backoff; a refusal (the bytes do not
 * match) is final and logged; a redelivery after a crash finds the state settled or the bytes
 * already in the store and records at most the missing `model.stored`.
 */
export function runPromotionConsumer(
  js: JetStreamClient,
  jsm: JetStreamManager,
  deps: { registry: Registry; store: EventStore; log: Logger },
): Promise<RunningConsumer> {
  return runConsumer(js, jsm, {
    durable: PROMOTION_DURABLE,
    filterSubject: 'secai.evt.artifact.>',
    types: ['model.promoted'],
    store: deps.store,
    // Re-hashing a large model takes a while; the server must not redeliver it meanwhile.
    ackWaitMs: 10 * 60_000,
    handler: async (verified) => {
      await deps.registry.handlePromoted(verified);
    },
    onError: (err, meta) =>
      deps.log.error({ err, seq: meta.seq }, 'promotion could not be handled; will retry'),
  });
}
