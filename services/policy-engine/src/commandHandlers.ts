import type { NatsConnection, Subscription } from '@secai/streams';
import { serveCommand, type Logger } from '@secai/streams';
import type { ServiceName, Signer, TrustStore } from '@secai/contracts';
import type { PolicyEngine } from './engine.js';
import type { PolicyHost } from './policyHost.js';
import type { DecisionRecorder } from './decisionLog.js';

/**
 * `secai.cmd.policy-engine.decide` and `.reload`: the same decision point over NATS, signed both
 * ways. A decision is recorded before the reply leaves, as over HTTP.
 */
export function serveCommands(
  nc: NatsConnection,
  deps: {
    engine: PolicyEngine;
    host: PolicyHost;
    recorder: DecisionRecorder;
    signer: Signer;
    trust: TrustStore;
    log: Logger;
  },
): Subscription[] {
  const decide = serveCommand(nc, {
    command: 'policy-engine.decide',
    signer: deps.signer,
    trust: deps.trust,
    handle: async (request, ctx) => {
      const outcome = deps.engine.decide(request, ctx.caller as ServiceName);
      const eventId = await deps.recorder.record(outcome.event, {
        causationId: ctx.requestId,
        correlationId: ctx.correlationId,
      });
      return { ok: true, result: { ...outcome.response, eventId } };
    },
    onRejected: (err, _bytes, subject) =>
      deps.log.warn({ code: err.code, subject }, 'refused a decide command'),
    onError: (err) => deps.log.error({ err }, 'decide command failed'),
  });
  const reload = serveCommand(nc, {
    command: 'policy-engine.reload',
    signer: deps.signer,
    trust: deps.trust,
    handle: async () => {
      const result = await deps.host.reload('command');
      if (!result.ok) {
        const first = result.problems[0];
        return {
          ok: false,
          code: 'POLICY_INVALID',
          message:
            `${result.problems.length} problem(s); first: ${first?.path ?? ''} ${first?.message ?? ''}`.slice(
              0,
              1024,
            ),
        };
      }
      return { ok: true, digest: result.digest, changed: result.changed };
    },
    onRejected: (err, _bytes, subject) =>
      deps.log.warn({ code: err.code, subject }, 'refused a reload command'),
    onError: (err) => deps.log.error({ err }, 'reload command failed'),
  });
  return [decide, reload];
}
