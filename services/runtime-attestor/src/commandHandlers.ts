import { isServiceName, type CommandReply, type Signer, type TrustStore } from '@secai/contracts';
import {
  recordRefusedCommand,
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

/**
 * `secai.cmd.runtime-attestor.attest`, signed both ways: a fresh quote, answered once its
 * `attestation.*` event is stored (causation: the request). Refused requests are answered with
 * the envelope error code and recorded as `security.envelope.rejected` on
 * `service/runtime-attestor`.
 */
export function serveCommands(nc: NatsConnection, deps: CommandDeps): ServedCommands {
  const { log } = deps;
  const onRejected = recordRefusedCommand(deps.events, 'runtime-attestor-commands', log);
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
