import {
  BaseError,
  type DecisionRequestData,
  type DecisionResponseData,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import { sendCommand, type NatsConnection } from '@secai/streams';

export type PolicyClientErrorCode = 'POLICY_UNAVAILABLE' | 'POLICY_REFUSED';

/** The engine could not be asked or refused the request: every gate treats this as deny. */
export class PolicyClientError extends BaseError<PolicyClientErrorCode> {}

/**
 * What every gate uses to ask the policy engine (over NATS, signed both ways), so that no gate
 * re-implements policy logic. Any failure is an exception the gate must turn into a deny.
 * Concurrent calls are independent requests on the connection's shared reply subscription:
 * nothing here serialises them, and the engine commits decisions that arrive together as one
 * group. The answer's `decisionId` is where the decision is recorded (`<event id>#<i>` in a group).
 * @example
 * const policy = new PolicyClient(nc, signer, trust);
 * const { decision } = await policy.decide({ domain: 'tool_access', subject: 'filesystem.read', params: { path } });
 */
export class PolicyClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly signer: Signer,
    private readonly trust: TrustStore,
    private readonly timeoutMs = 2000,
  ) {}

  async decide(request: DecisionRequestData): Promise<DecisionResponseData> {
    let reply;
    try {
      reply = await sendCommand(this.nc, {
        command: 'policy-engine.decide',
        signer: this.signer,
        trust: this.trust,
        request,
        timeoutMs: this.timeoutMs,
      });
    } catch (cause) {
      throw new PolicyClientError('POLICY_UNAVAILABLE', 'the policy engine did not answer: deny', {
        cause,
      });
    }
    if (!reply.ok) throw new PolicyClientError('POLICY_REFUSED', `${reply.code}: ${reply.message}`);
    const { result } = reply;
    return { ...result, decisionId: result.decisionId ?? result.eventId };
  }

  /**
   * True only for an explicit allow whose record the engine names; `ask`, `deny` and every
   * failure are false.
   */
  async allows(request: DecisionRequestData): Promise<boolean> {
    try {
      const answer = await this.decide(request);
      return answer.decision === 'allow' && answer.eventId !== null;
    } catch {
      return false;
    }
  }
}
