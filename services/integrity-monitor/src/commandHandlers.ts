import { type CommandReply, type Signer, type TrustStore } from '@secai/contracts';
import {
  recordRefusedCommand,
  serveCommand,
  type EventStore,
  type Logger,
  type NatsConnection,
  type Subscription,
} from '@secai/streams';
import type { IntegrityMonitor } from './monitor.js';

export interface CommandDeps {
  monitor: IntegrityMonitor;
  signer: Signer;
  trust: TrustStore;
  /** Where refused requests are recorded (`security.envelope.rejected`). */
  events: EventStore;
  log: Logger;
}

export interface ServedCommands {
  subscriptions: Subscription[];
  stop(): void;
}

/**
 * `secai.cmd.integrity-monitor.scan` (cli, appliance, incident-recorder) and `.rebaseline` (cli
 * only: the operator ceremony), signed both ways. A refused request (bad signature, a signer not
 * listed as a caller) is answered with the envelope error code and recorded as
 * `security.envelope.rejected` on `service/integrity-monitor`.
 */
export function serveCommands(nc: NatsConnection, deps: CommandDeps): ServedCommands {
  const { log } = deps;
  const onRejected = recordRefusedCommand(deps.events, 'integrity-monitor-commands', log);
  const onError = (err: unknown) => log.error({ err }, 'integrity command failed');
  const common = { signer: deps.signer, trust: deps.trust, onRejected, onError };

  const scan = serveCommand(nc, {
    ...common,
    command: 'integrity-monitor.scan',
    handle: async (request, ctx): Promise<CommandReply<'integrity-monitor.scan'>> => {
      log.info({ caller: ctx.caller, reason: request.reason }, 'scan requested');
      const summary = await deps.monitor.scan('request', {
        causationId: ctx.requestId,
        correlationId: ctx.correlationId,
      });
      return { ok: true, filesChecked: summary.filesChecked, violations: summary.violations };
    },
  });

  const rebaseline = serveCommand(nc, {
    ...common,
    command: 'integrity-monitor.rebaseline',
    handle: async (request, ctx): Promise<CommandReply<'integrity-monitor.rebaseline'>> => {
      log.warn(
        { caller: ctx.caller, operator: request.operator, reason: request.reason },
        'rebaseline requested',
      );
      const outcome = await deps.monitor.rebaseline(request.operator, request.reason, {
        causationId: ctx.requestId,
        correlationId: ctx.correlationId,
      });
      if (!outcome.ok) return outcome;
      return { ok: true, eventId: outcome.eventId, differences: outcome.differences };
    },
  });

  const subscriptions = [scan, rebaseline];
  return {
    subscriptions,
    stop() {
      for (const s of subscriptions) s.unsubscribe();
    },
  };
}
