import type { DecisionRequestData, Signer, TrustStore } from '@secai/contracts';
import { PolicyClient, type Logger, type NatsConnection, type PolicyAnswer } from '@secai/streams';

// Asking the policy engine through the kernel's `PolicyClient` (signed request and reply), as the
// quarantine and the tool firewall ask it. Any failure to get an answer is an answer too: the
// call is refused (fail closed), never carried out.

export type DecideOutcome = PolicyAnswer;

export type Decide = (request: DecisionRequestData) => Promise<DecideOutcome>;

export const DECIDE_TIMEOUT_MS = 10_000;

export function natsDecide(deps: {
  nc: NatsConnection;
  signer: Signer;
  trust: TrustStore;
  log: Logger;
  timeoutMs?: number;
}): Decide {
  const policy = new PolicyClient(
    deps.nc,
    deps.signer,
    deps.trust,
    deps.timeoutMs ?? DECIDE_TIMEOUT_MS,
  );
  return async (request) => {
    const answer = await policy.ask(request);
    if (!answer.ok && answer.code === 'POLICY_UNAVAILABLE')
      deps.log.error({ err: answer.cause }, 'the policy engine did not answer');
    return answer;
  };
}
