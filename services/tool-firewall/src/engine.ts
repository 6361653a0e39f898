import type {
  DecisionRequestData,
  DecisionResponseData,
  Signer,
  TrustStore,
} from '@secai/contracts';
import { PolicyClient, type NatsConnection } from '@secai/streams';
import { refusal } from './errors.js';

/** Asks the policy engine; any failure is a refusal the caller must treat as deny. */
export interface DecisionAsker {
  decide(request: DecisionRequestData): Promise<DecisionResponseData>;
}

/** Seconds a caller is told to wait when the engine cannot be asked. */
export const POLICY_RETRY_AFTER_SECONDS = 5;

/**
 * The policy engine over `secai.cmd.policy-engine.decide`, through the kernel's `PolicyClient`
 * (signed both ways). The engine records each decision before it answers.
 */
export function engineOverNats(
  nc: NatsConnection,
  signer: Signer,
  trust: TrustStore,
  timeoutMs = 5000,
): DecisionAsker {
  const policy = new PolicyClient(nc, signer, trust, timeoutMs);
  return {
    async decide(request) {
      const answer = await policy.ask(request);
      if (answer.ok) return answer.response;
      throw refusal(
        'policy',
        'POLICY_UNAVAILABLE',
        answer.code === 'POLICY_UNAVAILABLE'
          ? 'the policy engine did not answer: denied'
          : `the policy engine refused the request (${answer.code}): denied`,
        {
          retryAfterSeconds: POLICY_RETRY_AFTER_SECONDS,
          ...(answer.cause === undefined ? {} : { cause: answer.cause }),
        },
      );
    },
  };
}

/** The decision's own address: `decisionId` (a group member), else the recording event's id. */
export function decisionRefOf(response: DecisionResponseData): string | null {
  return response.decisionId ?? response.eventId ?? null;
}
