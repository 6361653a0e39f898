import type {
  DecisionRequestData,
  DecisionResponseData,
  Signer,
  TrustStore,
} from '@secai/contracts';
import { sendCommand, type Logger, type NatsConnection } from '@secai/streams';

// Asking the policy engine (`secai.cmd.policy-engine.decide`, signed request and reply), as the
// quarantine and inference ask it. Any failure to get an answer is an answer too: the call is
// refused (fail closed), never carried out.

export type DecideOutcome =
  { ok: true; response: DecisionResponseData } | { ok: false; code: string; message: string };

export type Decide = (request: DecisionRequestData) => Promise<DecideOutcome>;

export const DECIDE_TIMEOUT_MS = 10_000;

export function natsDecide(deps: {
  nc: NatsConnection;
  signer: Signer;
  trust: TrustStore;
  log: Logger;
  timeoutMs?: number;
}): Decide {
  return async (request) => {
    try {
      const reply = await sendCommand(deps.nc, {
        command: 'policy-engine.decide',
        signer: deps.signer,
        trust: deps.trust,
        request,
        timeoutMs: deps.timeoutMs ?? DECIDE_TIMEOUT_MS,
      });
      return reply.ok
        ? { ok: true, response: reply.result }
        : { ok: false, code: reply.code, message: reply.message ?? 'the policy engine refused' };
    } catch (err) {
      deps.log.error({ err }, 'the policy engine did not answer');
      return { ok: false, code: 'POLICY_UNAVAILABLE', message: 'the policy engine did not answer' };
    }
  };
}
