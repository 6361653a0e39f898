import type { CommandReply, Signer, TrustStore } from '@secai/contracts';
import {
  recordRefusedCommand,
  serveCommand,
  type EventStore,
  type Logger,
  type NatsConnection,
  type Subscription,
} from '@secai/streams';
import { ApplianceError } from './errors.js';
import type { Revoker } from './revocation.js';

export interface ApplianceCommandDeps {
  revoker: Revoker;
  signer: Signer;
  /** Live trust (the KV bundle): a caller revoked a moment ago is refused from then on. */
  trust: TrustStore;
  /** Where refused requests are recorded (`security.envelope.rejected` on service/appliance). */
  events: EventStore;
  log: Logger;
  now?: () => Date;
}

/**
 * `secai.cmd.appliance.revoke_identity` (callers: incident-recorder, cli), signed both ways.
 * A request signed by anyone else is refused by `serveCommand` (and, before that, by the
 * server: only the callers may publish on the subject). Answers `{ ok: true, alreadyDone }`
 * once the certificate is revoked and the server refuses the identity's NATS user; every
 * failure is a coded refusal (`REVOCATION_REFUSED`, `BUS_ACCESS_NOT_REVOKED`,
 * `BUS_ACCESS_UNMANAGED`).
 */
export function serveApplianceCommands(
  nc: NatsConnection,
  deps: ApplianceCommandDeps,
): Subscription[] {
  const now = deps.now ?? (() => new Date());
  const revoke = serveCommand(nc, {
    command: 'appliance.revoke_identity',
    signer: deps.signer,
    trust: deps.trust,
    onRejected: recordRefusedCommand(deps.events, 'appliance-commands', deps.log),
    onError: (err) => deps.log.error({ err }, 'appliance command failed'),
    handle: async (request, ctx): Promise<CommandReply<'appliance.revoke_identity'>> => {
      deps.log.warn(
        { service: request.service, caller: ctx.caller, incident: request.incidentId },
        'revocation requested',
      );
      const reason =
        request.incidentId !== undefined
          ? `${request.reason} (incident ${request.incidentId}, by ${ctx.caller})`
          : `${request.reason} (by ${ctx.caller})`;
      try {
        const { alreadyDone } = await deps.revoker.revoke({
          service: request.service,
          reason: reason.slice(0, 512),
          now: now(),
        });
        return { ok: true, alreadyDone };
      } catch (err) {
        if (!(err instanceof ApplianceError)) throw err;
        deps.log.error({ err, service: request.service }, 'revocation did not complete');
        return { ok: false, code: err.code, message: err.message.slice(0, 1024) };
      }
    },
  });
  return [revoke];
}
