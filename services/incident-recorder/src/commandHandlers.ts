import { type CommandReply, type Signer, type TrustStore } from '@secai/contracts';
import {
  recordRefusedCommand,
  serveCommand,
  type EventStore,
  type Logger,
  type NatsConnection,
  type Subscription,
} from '@secai/streams';
import type { IncidentRecorder, StepOutcome } from './recorder.js';
import type { Sealer } from './sealer/follower.js';

export interface CommandDeps {
  recorder: IncidentRecorder;
  sealer: Sealer;
  signer: Signer;
  trust: TrustStore;
  /** Where refused requests are recorded (`security.envelope.rejected`). */
  events: EventStore;
  log: Logger;
}

function replyOf(outcome: StepOutcome): CommandReply<'incident-recorder.resolve'> {
  if (outcome.refusal)
    return {
      ok: false,
      code: outcome.refusal.code,
      message: outcome.refusal.message.slice(0, 1024),
    };
  return { ok: true, state: outcome.state };
}

/**
 * `secai.cmd.incident-recorder.seal`, `.acknowledge` and `.resolve`, signed both ways. A refused
 * request (bad signature, a caller not listed) is answered with its envelope error code and
 * recorded as `security.envelope.rejected` on `service/incident-recorder`, which the recorder's
 * own consumer then turns into an `unauthorized_access` observation.
 */
export function serveCommands(nc: NatsConnection, deps: CommandDeps): Subscription[] {
  const { log } = deps;
  const onRejected = recordRefusedCommand(deps.events, 'incident-recorder-commands', log);
  const onError = (err: unknown) => log.error({ err }, 'incident recorder command failed');
  const common = { signer: deps.signer, trust: deps.trust, onRejected, onError };
  return [
    serveCommand(nc, {
      ...common,
      command: 'incident-recorder.seal',
      handle: async (req, ctx) => {
        log.info({ caller: ctx.caller, reason: req.reason }, 'seal requested');
        return { ok: true, ...(await deps.sealer.sealNow(ctx.requestId)) };
      },
    }),
    serveCommand(nc, {
      ...common,
      command: 'incident-recorder.resolve',
      handle: async (req, ctx) => {
        log.info(
          { caller: ctx.caller, incident: req.incidentId, operator: req.operator },
          'resolve requested',
        );
        return replyOf(
          await deps.recorder.resolve(req.incidentId, {
            operator: req.operator,
            note: req.note,
            requestId: ctx.requestId,
          }),
        );
      },
    }),
    serveCommand(nc, {
      ...common,
      command: 'incident-recorder.acknowledge',
      handle: async (req, ctx) => {
        log.info(
          { caller: ctx.caller, incident: req.incidentId, operator: req.operator },
          'acknowledgement requested',
        );
        return replyOf(
          await deps.recorder.acknowledge(req.incidentId, {
            operator: req.operator,
            note: req.note,
            requestId: ctx.requestId,
          }),
        );
      },
    }),
  ];
}
