import {
  ConcurrencyError,
  type EventData,
  type ToolArgumentsData,
  type ToolDecisionData,
} from '@secai/contracts';
import type { EventStore, Logger } from '@secai/streams';
import { refusal, ToolFirewallError } from './errors.js';

// Writes a call's history on `toolcall/<callId>`: one `tool.call.denied`, or `tool.call.allowed`
// followed by `tool.call.completed` or `tool.call.failed`. A call id is used once: the first
// event expects an empty aggregate, so a reused id cannot add to another call's history.

/** What the firewall knows about a call as it goes, and what its events say. */
export interface CallState {
  callId: string;
  /** `service:<name>` or `key:<name>`. */
  caller: string;
  /** Null until the name passed validation. */
  tool: string | null;
  arguments: ToolArgumentsData;
  decisions: ToolDecisionData[];
  /** The decision that refused the call, if one did. */
  deciding?: ToolDecisionData | null;
  policyDigest?: string | null;
}

export type CompletedData = Pick<
  EventData<'tool.call.completed'>,
  'output' | 'producedBytes' | 'truncated' | 'redactions' | 'durationMs'
>;

export interface CallRecorder {
  /** Records the allow; returns the aggregate's sequence. Throws CALL_ID_REUSED or NOT_RECORDED. */
  allowed(state: CallState): Promise<number>;
  /**
   * Records a refusal. A reused call id is itself refused: recorded under a fresh id
   * (`state.callId` changes) as CALL_ID_REUSED. A failed append is logged: the call is refused
   * all the same.
   */
  denied(
    state: CallState,
    error: ToolFirewallError,
  ): Promise<{ eventId: string | null; error: ToolFirewallError }>;
  failed(
    state: CallState,
    after: number,
    error: ToolFirewallError,
    durationMs: number,
  ): Promise<string | null>;
  /** Throws when the completion could not be recorded (the output is then withheld). */
  completed(state: CallState, after: number, data: CompletedData): Promise<string>;
}

const REASON_MAX = 512;

export function eventRecorder(
  store: EventStore,
  log: Logger,
  newCallId: () => string,
): CallRecorder {
  const append = async <
    T extends 'tool.call.allowed' | 'tool.call.denied' | 'tool.call.completed' | 'tool.call.failed',
  >(
    type: T,
    callId: string,
    data: EventData<T>,
    expectedSequence: number,
  ) => store.append([{ type, aggregateId: callId, data }], { expectedSequence });

  const deniedData = (
    state: CallState,
    error: ToolFirewallError,
  ): EventData<'tool.call.denied'> => ({
    callId: state.callId,
    tool: state.tool,
    caller: state.caller,
    stage: error.details.stage ?? 'validation',
    code: error.code,
    reason: error.message.slice(0, REASON_MAX),
    ruleId: state.deciding?.ruleId ?? null,
    decisionId: state.deciding?.decisionId ?? null,
    inputDigest: state.deciding?.inputDigest ?? null,
    decisions: state.decisions.slice(0, 64),
    arguments: state.arguments,
  });

  return {
    async allowed(state) {
      try {
        const result = await append(
          'tool.call.allowed',
          state.callId,
          {
            callId: state.callId,
            tool: state.tool!,
            caller: state.caller,
            arguments: state.arguments,
            decisions: state.decisions.slice(0, 64),
            policyDigest: state.policyDigest ?? null,
          },
          0,
        );
        return result.lastSequence;
      } catch (err) {
        if (err instanceof ConcurrencyError)
          throw refusal(
            'validation',
            'CALL_ID_REUSED',
            `the call id ${state.callId} was used before`,
          );
        log.error({ err, callId: state.callId }, 'tool.call.allowed not recorded: nothing runs');
        throw new ToolFirewallError(
          'NOT_RECORDED',
          'the call could not be recorded, so it does not run',
          {
            stage: 'policy',
            retryAfterSeconds: 2,
            cause: err,
          },
        );
      }
    },

    async denied(state, error) {
      let current = error;
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const result = await append(
            'tool.call.denied',
            state.callId,
            deniedData(state, current),
            0,
          );
          return { eventId: result.ids[0] ?? null, error: current };
        } catch (err) {
          if (!(err instanceof ConcurrencyError)) {
            log.error(
              { err, callId: state.callId, code: current.code },
              'tool.call.denied not recorded',
            );
            return { eventId: null, error: current };
          }
          current = refusal(
            'validation',
            'CALL_ID_REUSED',
            `the call id ${state.callId} was used before`,
          );
          state.callId = newCallId();
        }
      }
      return { eventId: null, error: current };
    },

    async failed(state, after, error, durationMs) {
      try {
        const result = await append(
          'tool.call.failed',
          state.callId,
          {
            callId: state.callId,
            tool: state.tool!,
            caller: state.caller,
            code: error.code,
            reason: error.message.slice(0, REASON_MAX),
            durationMs,
          },
          after,
        );
        return result.ids[0] ?? null;
      } catch (err) {
        log.error({ err, callId: state.callId }, 'tool.call.failed not recorded');
        return null;
      }
    },

    async completed(state, after, data) {
      const result = await append(
        'tool.call.completed',
        state.callId,
        { callId: state.callId, tool: state.tool!, caller: state.caller, ...data },
        after,
      );
      return result.ids[0]!;
    },
  };
}
