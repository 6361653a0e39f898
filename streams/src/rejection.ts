import { envelopeDigest, type EnvelopeError, type EventData } from '@secai/contracts';
import type { EventStore } from './eventStore.js';
import type { Logger } from './logger.js';

/** What a refused envelope claimed about itself, bounded (it is unverified). */
function boundedClaims(claims: EnvelopeError['claims']): Record<string, string> {
  const limits: Record<string, number> = {
    keyid: 128,
    source: 256,
    type: 256,
    subject: 512,
    id: 128,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(claims)) {
    if (typeof value === 'string' && limits[key]) out[key] = value.slice(0, limits[key]);
  }
  return out;
}

/** The `security.envelope.rejected` data for a refused event (`streamSeq`) or command (null). */
export function rejectionData(
  where: { consumer: string; natsSubject: string; streamSeq: number | null },
  err: EnvelopeError,
  bytes: Uint8Array,
): EventData<'security.envelope.rejected'> {
  return {
    consumer: where.consumer,
    code: err.code,
    reason: err.message.slice(0, 512),
    natsSubject: where.natsSubject.slice(0, 512),
    streamSeq: where.streamSeq,
    envelopeDigest: envelopeDigest(bytes),
    claimed: boundedClaims(err.claims),
  };
}

/**
 * The `onRejected` of `serveCommand` every handler uses: a refused request (bad signature, a
 * signer not listed as a caller) is logged and recorded as `security.envelope.rejected` on the
 * handler's own `service/<name>` aggregate, under `consumer` (`<service>-commands`).
 */
export function recordRefusedCommand(
  store: EventStore,
  consumer: string,
  log: Logger,
): (err: EnvelopeError, bytes: Uint8Array, natsSubject: string) => Promise<void> {
  return async (err, bytes, natsSubject) => {
    log.warn({ code: err.code, natsSubject }, 'refused a command');
    await store
      .appendServiceEvent({
        type: 'security.envelope.rejected',
        aggregateId: store.signer.service,
        data: rejectionData({ consumer, natsSubject, streamSeq: null }, err, bytes),
      })
      .catch((e: unknown) => log.error({ err: e }, 'could not record a refused command'));
  };
}
