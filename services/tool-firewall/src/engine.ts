import type {
  DecisionRequestData,
  DecisionResponseData,
  Signer,
  TrustStore,
} from '@secai/contracts';
import { sendCommand, type NatsConnection } from '@secai/streams';
import { refusal } from './errors.js';

/** Asks the policy engine; any failure is a refusal the caller must treat as deny. */
export interface DecisionAsker {
  decide(request: DecisionRequestData): Promise<DecisionResponseData>;
}

/** Seconds a caller is told to wait when the engine cannot be asked. */
export const POLICY_RETRY_AFTER_SECONDS = 5;

/**
 * The policy engine over `secai.cmd.policy-engine.decide`, signed both ways: the same command the
 * engine's own `PolicyClient` sends (a service cannot import another service's package). The
 * engine records each decision before it answers.
 */
export function engineOverNats(
  nc: NatsConnection,
  signer: Signer,
  trust: TrustStore,
  timeoutMs = 5000,
): DecisionAsker {
  return {
    async decide(request) {
      let reply;
      try {
        reply = await sendCommand(nc, {
          command: 'policy-engine.decide',
          signer,
          trust,
          request,
          timeoutMs,
        });
      } catch (cause) {
        throw refusal('policy', 'POLICY_UNAVAILABLE', 'the policy engine did not answer: denied', {
          retryAfterSeconds: POLICY_RETRY_AFTER_SECONDS,
          cause,
        });
      }
      if (!reply.ok)
        throw refusal(
          'policy',
          'POLICY_UNAVAILABLE',
          `the policy engine refused the request (${reply.code}): denied`,
          { retryAfterSeconds: POLICY_RETRY_AFTER_SECONDS },
        );
      return reply.result;
    },
  };
}

/** The decision's own address: `decisionId` (a group member), else the recording event's id. */
export function decisionRefOf(response: DecisionResponseData): string | null {
  return response.decisionId ?? response.eventId ?? null;
}
