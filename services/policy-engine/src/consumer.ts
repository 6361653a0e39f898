import type { EventData } from '@secai/contracts';
import {
  runConsumer,
  type JetStreamClient,
  type JetStreamManager,
  type EventStore,
  type Logger,
  type RunningConsumer,
} from '@secai/streams';
import type { PolicyEngine } from './engine.js';
import type { DecisionRecorder } from './decisionLog.js';
import { promotionLedger } from './promotionLedger.js';

export const PROMOTION_DURABLE = 'policy-engine-promotion';

/**
 * Consumes `quarantine.completed` and records the `model_promotion` decision the quarantine
 * service acts on (ARCHITECTURE §5.1). The decision's `causationid` is the completed event, so
 * the quarantine service finds the decision that settles its run. A redelivered completion (an
 * ack lost in a crash, a reset consumer) records nothing: the ledger knows it was decided.
 */
export function runPromotionConsumer(
  js: JetStreamClient,
  jsm: JetStreamManager,
  deps: { engine: PolicyEngine; recorder: DecisionRecorder; store: EventStore; log: Logger },
): Promise<RunningConsumer> {
  const ledger = promotionLedger(deps.store);
  return runConsumer(js, jsm, {
    durable: PROMOTION_DURABLE,
    filterSubject: 'secai.evt.artifact.>',
    types: ['quarantine.completed'],
    store: deps.store,
    handler: async (verified) => {
      if (await ledger.decided(verified.event.id)) {
        deps.log.info(
          { artifact: verified.aggregate.id, completed: verified.event.id },
          'promotion already decided; redelivery ignored',
        );
        return;
      }
      const completed = verified.event.data as EventData<'quarantine.completed'>;
      const { events } = await deps.store.load('artifact', verified.aggregate.id);
      const acquired = events.find((e) => e.event.type === 'model.acquired')?.event.data as
        EventData<'model.acquired'> | undefined;
      const request = {
        domain: 'model_promotion',
        subject: acquired?.name ?? verified.aggregate.id,
        promotion: {
          passed: completed.passed,
          format: completed.format,
          failedStage: completed.failedStage,
          stages: completed.stages.map((s) => ({ stage: s.stage, passed: s.passed })),
          behavioralScore: completed.behavioralScore,
          provenance: completed.provenance,
          pin: completed.pin,
          signer: completed.signer,
          // Without a recorded acquisition the origin is unknown: treat it as remote (stricter).
          via: acquired?.source.via ?? 'airlock',
        },
      };
      const outcome = deps.engine.decide(request, 'quarantine');
      // Its causation is this completion, so it has a lane of its own: it is always recorded
      // alone, as the plain `policy.decided` the quarantine service waits for.
      await deps.recorder.record(outcome.event, {
        causationId: verified.event.id,
        correlationId: verified.event.correlationid,
      });
      ledger.remember(verified.event.id);
      deps.log.info(
        {
          artifact: verified.aggregate.id,
          decision: outcome.response.decision,
          ruleId: outcome.response.evidence.ruleId,
        },
        'promotion decided',
      );
    },
    onError: (err, meta) =>
      deps.log.error({ err, seq: meta.seq }, 'promotion decision failed; will retry'),
  });
}
