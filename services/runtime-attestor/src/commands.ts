import {
  envelopeDigest,
  isServiceName,
  type CommandReply,
  type EnvelopeError,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import {
  serveCommand,
  type EventStore,
  type Logger,
  type NatsConnection,
  type Subscription,
} from '@secai/streams';
import { AttestorError, type Attestor } from './attestor.js';

export interface CommandDeps {
  attestor: Attestor;
  signer: Signer;
  trust: TrustStore;
  /** Where refused requests are recorded (`security.envelope.rejected`). */
  events: EventStore;
  log: Logger;
}

export interface ServedCommands {
  subscription: Subscription;
  stop(): void;
}

/** Only a refusal's claims that fit the event's schema. */
function claimsOf(err: EnvelopeError): Record<string, string> {
  const limits: Record<string, number> = {
    keyid: 128,
    source: 256,
    type: 256,
    subject: 512,
    id: 128,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(err.claims)) {
    if (typeof value === 'string' && limits[key]) out[key] = value.slice(0, limits[key]);
  }
  return out;
}

/**
 * `secai.cmd.runtime-attestor.attest`, signed both ways: a fresh quote, answered once its
 * `attestation.*` event is stored (causation: the request). Refused requests are answered with
 * the envelope error code and recorded as `security.envelope.rejected` on
 * `service/runtime-attestor`.
 */
export function serveCommands(nc: NatsConnection, deps: CommandDeps): ServedCommands {
  const { log } = deps;
  const onRejected = async (err: EnvelopeError, bytes: Uint8Array, natsSubject: string) => {
    log.warn({ code: err.code, natsSubject }, 'refused a command');
    await deps.events
      .appendServiceEvent({
        type: 'security.envelope.rejected',
        aggregateId: 'runtime-attestor',
        data: {
          consumer: 'runtime-attestor-commands',
          code: err.code,
          reason: err.message.slice(0, 512),
          natsSubject: natsSubject.slice(0, 512),
          streamSeq: null,
          envelopeDigest: envelopeDigest(bytes),
          claimed: claimsOf(err),
        },
      })
      .catch((e: unknown) => log.error({ err: e }, 'could not record a refused command'));
  };
  const subscription = serveCommand(nc, {
    command: 'runtime-attestor.attest',
    signer: deps.signer,
    trust: deps.trust,
    onRejected,
    onError: (err) => log.error({ err }, 'runtime-attestor command failed'),
    handle: async (request, ctx): Promise<CommandReply<'runtime-attestor.attest'>> => {
      log.info({ caller: ctx.caller, reason: request.reason }, 'attestation requested');
      try {
        const result = await deps.attestor.attest({
          requestedBy: isServiceName(ctx.caller) ? ctx.caller : null,
          causationId: ctx.requestId,
          correlationId: ctx.correlationId,
        });
        return { ok: true, outcome: result.outcome, eventId: result.eventId };
      } catch (err) {
        if (err instanceof AttestorError)
          return { ok: false, code: err.code.toLowerCase(), message: err.message };
        throw err;
      }
    },
  });
  return { subscription, stop: () => subscription.unsubscribe() };
}
