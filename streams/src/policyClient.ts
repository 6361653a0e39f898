import {
  BaseError,
  type DecisionRequestData,
  type DecisionResponseData,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { sendCommand } from './commandBus.js';

export type PolicyClientErrorCode = 'POLICY_UNAVAILABLE' | 'POLICY_REFUSED';

/** The engine could not be asked or refused the request: every gate treats this as deny. */
export class PolicyClientError extends BaseError<PolicyClientErrorCode> {}

/** `ask`'s answer: the engine's decision, or why there is none (which every gate treats as deny). */
export type PolicyAnswer =
  | { ok: true; response: DecisionResponseData }
  | { ok: false; code: string; message: string; cause?: unknown };

/**
 * What every gate uses to ask the policy engine (`secai.cmd.policy-engine.decide`, signed both
 * ways), so that no gate re-implements the asking or any policy logic. In the kernel because a
 * service may not import another service's package. Concurrent calls are independent requests on
 * the connection's shared reply subscription: nothing here serialises them, and the engine
 * commits decisions that arrive together as one group. The answer's `decisionId` is where the
 * decision is recorded (`<event id>#<i>` in a group).
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

  /**
   * The decision, or why there is none as a value: the engine's refusal code (`REQUEST_INVALID`,
   * ...) with its message, or `POLICY_UNAVAILABLE` when it did not answer. Never throws.
   */
  async ask(request: DecisionRequestData): Promise<PolicyAnswer> {
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
      return {
        ok: false,
        code: 'POLICY_UNAVAILABLE',
        message: 'the policy engine did not answer',
        cause,
      };
    }
    if (!reply.ok)
      return { ok: false, code: reply.code, message: reply.message ?? 'the policy engine refused' };
    const { result } = reply;
    return { ok: true, response: { ...result, decisionId: result.decisionId ?? result.eventId } };
  }

  /** The decision; any failure is a `PolicyClientError` the gate must turn into a deny. */
  async decide(request: DecisionRequestData): Promise<DecisionResponseData> {
    const answer = await this.ask(request);
    if (answer.ok) return answer.response;
    if (answer.code === 'POLICY_UNAVAILABLE')
      throw new PolicyClientError('POLICY_UNAVAILABLE', 'the policy engine did not answer: deny', {
        cause: answer.cause,
      });
    throw new PolicyClientError('POLICY_REFUSED', `${answer.code}: ${answer.message}`);
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
