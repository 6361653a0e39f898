import { performance } from 'node:perf_hooks';
import {
  COMMANDS,
  CONTAINMENT_ACTION_COMMANDS,
  EnvelopeError,
  SERVICES,
  newEventId,
  type CommandReply,
  type CommandRequest,
  type ServiceName,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import { StreamError, sendCommand, type Logger } from '@secai/streams';
import type { IncidentBook, RecorderConnection } from './book.js';
import { pendingActions, stateOf, type IncidentContext, type RequestedAction } from './machine.js';
import type { IncidentPolicy, RemoteAction } from './policy/schema.js';

/** The command that carries out each remote action, at its owner (one table, in contracts). */
export const ACTION_COMMANDS = CONTAINMENT_ACTION_COMMANDS;

export interface ActionOutcome {
  ok: boolean;
  /** What the target answered, redacted (≤ 512 characters). */
  detail: string;
  durationMs: number;
  /** The target's own event confirming the action (`model.contained`), when it has one. */
  confirmingEventId: string | null;
}

export interface ExecutorDeps {
  conn: RecorderConnection;
  book: IncidentBook;
  signer: Signer;
  trust: TrustStore;
  policy: () => IncidentPolicy;
  log: Logger;
  /** How long to wait for the registry's `model.contained` after its answer (default 5 s). */
  confirmWithinMs?: number;
}

class Aborted extends Error {}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The work was already started: its own failure must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    return Promise.reject(new Aborted('stopped'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Aborted('stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}

/**
 * The stable code that starts the `detail` of a failed action (`<code>: <what happened>`), the
 * same convention as attestation reasons: what dashboards, the CLI and tests match on.
 */
export type ActionFailureCode =
  /** Nothing serves the command in this appliance (the bus answered "no responders" at once). */
  | 'target_absent'
  /** The target is there but did not answer within the policy's timeout. */
  | 'timeout'
  /** The target answered `ok: false`. */
  | 'refused'
  /** An answer came that does not verify (signature, signer, schema, another request). */
  | 'no_valid_answer'
  /** The target answered ok, but its own confirming event is not in the stream. */
  | 'not_confirmed'
  /** The incident names nothing the action could act on. */
  | 'no_target';

/** `<code>: <detail>` of a failed action. */
export const failureDetail = (code: ActionFailureCode, detail: string): string =>
  `${code}: ${detail}`;

/** Why a command got no usable answer, as a failed action's detail. */
export function sendFailureDetail(command: RemoteCommand, err: unknown): string {
  const handler = COMMANDS[command].handler;
  if (err instanceof StreamError && err.code === 'COMMAND_TARGET_ABSENT')
    return failureDetail('target_absent', `no ${handler} service in this appliance`);
  if (err instanceof StreamError && err.code === 'COMMAND_TIMEOUT')
    return failureDetail('timeout', err.message);
  if (err instanceof EnvelopeError)
    return failureDetail('no_valid_answer', `${command}: ${err.code}: ${err.message}`);
  return failureDetail('no_valid_answer', err instanceof Error ? err.message : String(err));
}

type RemoteCommand = (typeof ACTION_COMMANDS)[RemoteAction];

const HEX = /^[0-9a-f]{64}$/;

/** A service whose identity containment may revoke: never the appliance (it holds the root). */
const isRevocable = (name: string): name is ServiceName =>
  name !== 'appliance' && (SERVICES as readonly string[]).includes(name);
const clip = (s: string) => (s.length <= 512 ? s : `${s.slice(0, 511)}…`);

/**
 * Carries out the containment an incident requested, one action after the other, each as a
 * signed command to its owner with a timeout. The answer and, where the target has one, its own
 * confirming event decide the outcome; no answer (no responder, timeout, a refused reply) is a
 * failed action, never assumed done, and its detail says which (`ActionFailureCode`). Each result is recorded (`incident.containment.action.
 * completed`), and the last one with the outcome. Work is driven by the incident's state alone:
 * after a restart, `resumeAll` carries on with the actions still pending (an action in flight at
 * the stop is sent again; targets are idempotent), and completed actions are never re-run.
 */
export class ContainmentExecutor {
  readonly #deps: ExecutorDeps;
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #abort = new AbortController();

  constructor(deps: ExecutorDeps) {
    this.#deps = deps;
  }

  /** Carries on with the incident's pending actions (no-op if there are none or it runs). */
  schedule(id: string): void {
    if (this.#abort.signal.aborted) return;
    if (this.#running.has(id)) {
      this.#again.add(id);
      return;
    }
    const run = this.#run(id)
      .then(
        () => void this.#failures.delete(id),
        (err: unknown) => {
          if (err instanceof Aborted) return;
          // The bus is down or the result could not be recorded: try again later. A result that
          // was not recorded is asked for again (targets are idempotent).
          const failures = (this.#failures.get(id) ?? 0) + 1;
          this.#failures.set(id, failures);
          const delay = Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6));
          this.#deps.log.error(
            { err, incident: id, retryInMs: delay },
            'containment could not be carried on; will retry',
          );
          setTimeout(() => this.schedule(id), delay).unref();
        },
      )
      .finally(() => {
        this.#running.delete(id);
        if (this.#again.delete(id)) this.schedule(id);
      });
    this.#running.set(id, run);
  }

  /** Every incident with containment still pending (after a restart). */
  resumeAll(): number {
    let n = 0;
    for (const [id, record] of this.#deps.book.all()) {
      if (
        stateOf(record.snapshot) === 'open' &&
        pendingActions(record.snapshot.context).length > 0
      ) {
        this.#deps.log.info({ incident: id }, 'resuming containment');
        this.schedule(id);
        n++;
      }
    }
    return n;
  }

  /** Resolves once nothing is running (tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running.values()]);
  }

  get running(): number {
    return this.#running.size;
  }

  /** Stops at once: what is in flight is abandoned unrecorded, and resumed by the next start. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all([...this.#running.values()]);
  }

  async #run(id: string): Promise<void> {
    const signal = this.#abort.signal;
    for (;;) {
      const record = this.#deps.book.get(id);
      if (!record || stateOf(record.snapshot) !== 'open') return;
      const ctx = record.snapshot.context;
      const next = pendingActions(ctx)[0];
      if (!next) return;
      const outcome = await this.#execute(ctx, next, signal);
      if (signal.aborted) return;
      const level = outcome.ok ? 'info' : 'error';
      this.#deps.log[level](
        {
          incident: id,
          action: next.action,
          target: next.target,
          ok: outcome.ok,
          detail: outcome.detail,
        },
        'containment action completed',
      );
      await this.#deps.book.handle(
        id,
        {
          type: 'complete_action',
          action: next.action,
          target: next.target,
          ok: outcome.ok,
          detail: outcome.detail,
          durationMs: outcome.durationMs,
        },
        { causationId: outcome.confirmingEventId ?? ctx.requestedEventId ?? undefined },
      );
    }
  }

  async #execute(
    ctx: IncidentContext,
    { action, target }: RequestedAction,
    signal: AbortSignal,
  ): Promise<ActionOutcome> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const outcome = (ok: boolean, detail: string, confirmingEventId: string | null = null) => ({
      ok,
      detail: clip(detail),
      durationMs: elapsed(),
      confirmingEventId,
    });
    if (action === 'log_alert') {
      this.#deps.log.warn(
        {
          alert: true,
          incident: ctx.incidentId,
          class: ctx.class,
          severity: ctx.severity,
          subject: ctx.subject,
        },
        `ALERT: incident ${ctx.incidentId} (${ctx.class}, ${ctx.severity}): ${ctx.description}`,
      );
      return outcome(true, 'alert logged');
    }
    const reason = clip(`containment for incident ${ctx.incidentId} (${ctx.class})`);
    const timeoutMs = this.#deps.policy().containment.timeoutMs[action];
    const requestId = newEventId();
    try {
      if (action === 'quarantine_model') {
        const hex = target.startsWith('model/') ? target.slice('model/'.length) : '';
        if (!HEX.test(hex))
          return outcome(
            false,
            failureDetail('no_target', 'the incident names no model to quarantine'),
          );
        const reply = await raceAbort(
          this.#send(
            'registry.quarantine_model',
            { model: hex, reason, incidentId: ctx.incidentId },
            timeoutMs,
            requestId,
          ),
          signal,
        );
        if (!reply.ok)
          return outcome(
            false,
            failureDetail('refused', `registry.quarantine_model: ${reply.code}: ${reply.message}`),
          );
        const confirmed = await raceAbort(
          this.#confirmContained(hex, requestId, reply.alreadyContained),
          signal,
        );
        if (!confirmed)
          return outcome(
            false,
            failureDetail(
              'not_confirmed',
              'the registry answered, but no model.contained event confirms it',
            ),
          );
        return outcome(
          true,
          `${reply.alreadyContained ? 'already contained' : 'contained'} at ${reply.containedPath}`,
          confirmed,
        );
      }
      if (action === 'revoke_identity') {
        const service = target.startsWith('identity/') ? target.slice('identity/'.length) : '';
        if (!isRevocable(service))
          return outcome(
            false,
            failureDetail('no_target', 'the incident names no single identity to revoke'),
          );
        const reply = await raceAbort(
          this.#send(
            'appliance.revoke_identity',
            { service, incidentId: ctx.incidentId, reason },
            timeoutMs,
            requestId,
          ),
          signal,
        );
        if (!reply.ok)
          return outcome(
            false,
            failureDetail('refused', `appliance.revoke_identity: ${reply.code}: ${reply.message}`),
          );
        return outcome(true, reply.alreadyDone ? 'already revoked' : `${service} revoked`);
      }
      const command = ACTION_COMMANDS[action];
      const reply = await raceAbort(
        this.#send(command, { incidentId: ctx.incidentId, reason }, timeoutMs, requestId),
        signal,
      );
      if (!reply.ok)
        return outcome(
          false,
          failureDetail('refused', `${command}: ${reply.code}: ${reply.message}`),
        );
      return outcome(true, reply.alreadyDone ? 'already in effect' : 'done');
    } catch (err) {
      if (err instanceof Aborted) throw err;
      const command = ACTION_COMMANDS[action];
      return outcome(false, sendFailureDetail(command, err));
    }
  }

  #send<C extends RemoteCommand>(
    command: C,
    request: CommandRequest<C>,
    timeoutMs: number,
    requestId: string,
  ): Promise<CommandReply<C>> {
    return sendCommand(this.#deps.conn.nc, {
      command,
      signer: this.#deps.signer,
      trust: this.#deps.trust,
      request,
      timeoutMs,
      requestId,
    });
  }

  /**
   * The registry's `model.contained`: the one this request caused, or (already contained) the
   * one in force. The registry records it before it answers; a short wait covers a slow read.
   */
  async #confirmContained(
    hex: string,
    requestId: string,
    already: boolean,
  ): Promise<string | null> {
    const deadline = Date.now() + (this.#deps.confirmWithinMs ?? 5_000);
    for (;;) {
      const { events } = await this.#deps.conn.store.load('model', hex);
      const last = [...events]
        .reverse()
        .find((e) => e.event.type === 'model.contained' || e.event.type === 'model.stored');
      if (
        last?.event.type === 'model.contained' &&
        (already || last.event.causationid === requestId)
      )
        return last.event.id;
      if (Date.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
