import {
  EnvelopeError,
  newEventId,
  type CommandReply,
  type CommandRequest,
  type CommandType,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import { StreamError, sendCommand, type NatsConnection } from '@secai/streams';
import { UiError } from './errors.js';
import type { RecordedDecision } from './recordedDecisions.js';

export type WhatIfFile = 'policy.yaml' | 'agent.yaml' | 'mcp.yaml';

// Operator actions: each is the owning service's signed command, sent as the `ui` identity and
// naming the logged-in operator, so the handler's event puts it in the history. Where a command
// has an `operator` field it carries the name; contain and remove have only a reason, so the
// reason says who asked (the registry records the signer `ui` as the cause and the reason with
// it).

export interface ActionDeps {
  nc: NatsConnection;
  /** Signs as `ui`. */
  signer: Signer;
  trust: TrustStore;
  timeoutMs?: number;
}

/** How long an action waits for its handler (a resolve may wait on a fresh attestation). */
export const ACTION_TIMEOUT_MS = 60_000;

export class OperatorActions {
  readonly #deps: ActionDeps;

  constructor(deps: ActionDeps) {
    this.#deps = deps;
  }

  /** `quarantine.import`: answered once the source was walked; the run goes on after. */
  async importModel(operator: string, input: { path: string; name?: string }) {
    const requestId = newEventId();
    const reply = await this.#send(
      'quarantine.import',
      { path: input.path, ...(input.name !== undefined ? { name: input.name } : {}), operator },
      requestId,
    );
    return { requestId, totalBytes: reply.totalBytes, files: reply.files };
  }

  async contain(operator: string, digest: string, reason: string) {
    const reply = await this.#send('registry.quarantine_model', {
      model: digest,
      reason,
      operator,
    });
    return { containedPath: reply.containedPath, alreadyContained: reply.alreadyContained };
  }

  async remove(operator: string, digest: string, reason: string) {
    const reply = await this.#send('registry.remove', {
      model: digest,
      reason,
      operator,
    });
    return { removed: reply.removed };
  }

  async incidentStep(
    step: 'acknowledge' | 'resolve',
    operator: string,
    incidentId: string,
    note: string,
  ) {
    const command =
      step === 'resolve' ? 'incident-recorder.resolve' : 'incident-recorder.acknowledge';
    const reply = await this.#send(command, { incidentId, operator, note });
    return { incidentId, state: reply.state };
  }

  /**
   * `policy-engine.what_if`: what a candidate policy (file texts) decides for recorded decisions,
   * beside what was recorded. Nothing is recorded; the live policy is untouched.
   */
  async whatIf(files: { name: WhatIfFile; text: string }[], recorded: readonly RecordedDecision[]) {
    const reply = await this.#send('policy-engine.what_if', {
      files,
      decisions: recorded.map((d) => ({ decisionId: d.decisionId, input: d.input })),
    });
    const byId = new Map(reply.results.map((r) => [r.decisionId, r]));
    return {
      policyDigest: reply.policyDigest,
      results: recorded.map((d) => {
        const candidate = byId.get(d.decisionId);
        return {
          decisionId: d.decisionId,
          recorded: { decision: d.decision, ruleId: d.ruleId },
          candidate: candidate
            ? { decision: candidate.decision, ruleId: candidate.ruleId, reason: candidate.reason }
            : null,
          changed:
            candidate === undefined ||
            candidate.decision !== d.decision ||
            candidate.ruleId !== d.ruleId,
        };
      }),
    };
  }

  /** Sends `command` and returns its answer; a refusal or a failure to reach it throws `UiError`. */
  async #send<C extends CommandType>(
    command: C,
    request: CommandRequest<C>,
    requestId?: string,
  ): Promise<Extract<CommandReply<C>, { ok: true }>> {
    let reply: CommandReply<C>;
    try {
      reply = await sendCommand(this.#deps.nc, {
        command,
        signer: this.#deps.signer,
        trust: this.#deps.trust,
        request,
        timeoutMs: this.#deps.timeoutMs ?? ACTION_TIMEOUT_MS,
        ...(requestId !== undefined ? { requestId } : {}),
      });
    } catch (cause) {
      throw failureOf(command, cause);
    }
    const answer = reply as { ok: boolean; code?: string; message?: string };
    if (!answer.ok) throw refusalOf(command, answer.code ?? 'refused', answer.message ?? '');
    return reply as Extract<CommandReply<C>, { ok: true }>;
  }
}

const ENVELOPE_CODES = new Set([
  'TOO_LARGE',
  'ENVELOPE_MALFORMED',
  'KEY_UNKNOWN',
  'SIGNATURE_INVALID',
  'CERT_REVOKED',
  'CERT_EXPIRED',
  'SOURCE_MISMATCH',
  'SUBJECT_MISMATCH',
  'TYPE_UNKNOWN',
  'TYPE_NOT_AUTHORISED',
  'SCHEMA_INVALID',
]);

/** A handler's refusal as the operator's problem (pure). */
export function refusalOf(command: string, code: string, message: string): UiError {
  const detail = `${command}: ${code}: ${message}`.slice(0, 1024);
  // The handler refused the envelope itself: the UI's identity or request, not the operator's.
  if (ENVELOPE_CODES.has(code)) return new UiError('SERVICE_REFUSED_UI', detail);
  if (/unknown|not_found/i.test(code)) return new UiError('TARGET_UNKNOWN', detail);
  return new UiError('COMMAND_REFUSED', detail);
}

/** A command that got no verified answer, as the operator's problem. */
export function failureOf(command: string, cause: unknown): UiError {
  if (cause instanceof StreamError) {
    if (cause.code === 'COMMAND_TARGET_ABSENT')
      return new UiError('SERVICE_ABSENT', cause.message, { cause, retryAfterSeconds: 5 });
    if (cause.code === 'COMMAND_TIMEOUT')
      return new UiError('SERVICE_TIMEOUT', cause.message, { cause });
  }
  if (cause instanceof EnvelopeError)
    return new UiError(
      'SERVICE_REFUSED_UI',
      `${command}: the answer did not verify (${cause.code})`,
      {
        cause,
      },
    );
  return new UiError('BUS_UNAVAILABLE', `${command}: the bus did not carry the command`, {
    cause,
    retryAfterSeconds: 2,
  });
}
