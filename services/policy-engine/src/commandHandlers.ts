import type { CommandContext, NatsConnection, Subscription } from '@secai/streams';
import { serveCommand, type Logger } from '@secai/streams';
import type { ServiceName, Signer, TrustStore } from '@secai/contracts';
import type { PolicyEngine } from './engine.js';
import type { PolicyHost } from './policyHost.js';
import type { DecisionRecorder, RecordLinks } from './decisionLog.js';
import { whatIfCandidate } from './whatIfCandidate.js';

/**
 * The links a NATS decision is recorded with. Not the request's id as causation: each request
 * has its own, and a group event carries one, so concurrent decides could never be committed
 * together (the signed reply, whose causation is the request, carries the decision's address
 * instead). A correlation the caller chose (not merely its request id, the default) is kept, so
 * the decisions of one flow stay findable by it; decisions sharing it may share a group.
 */
export function decideLinks(ctx: CommandContext): RecordLinks {
  return ctx.correlationId !== ctx.requestId ? { correlationId: ctx.correlationId } : {};
}

/**
 * `secai.cmd.policy-engine.decide`, `.reload` and `.what_if`: the same decision point over NATS,
 * signed both ways. A decision is recorded before the reply leaves, as over HTTP; concurrent
 * decides of one domain are committed together by a group-commit recorder. A what-if records
 * nothing: it only evaluates a candidate policy.
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
      const at = await deps.recorder.record(outcome.event, decideLinks(ctx));
      return { ok: true, result: { ...outcome.response, ...at } };
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
  const whatIf = serveCommand(nc, {
    command: 'policy-engine.what_if',
    signer: deps.signer,
    trust: deps.trust,
    handle: (request) => Promise.resolve(whatIfCandidate(request)),
    onRejected: (err, _bytes, subject) =>
      deps.log.warn({ code: err.code, subject }, 'refused a what-if command'),
    onError: (err) => deps.log.error({ err }, 'what-if command failed'),
  });
  return [decide, reload, whatIf];
}
