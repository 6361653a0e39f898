import { progressSubject, type CommandReply, type Signer, type TrustStore } from '@secai/contracts';
import {
  recordRefusedCommand,
  serveCommand,
  type EventStore,
  type Logger,
  type NatsConnection,
  type Subscription,
} from '@secai/streams';
import type { RemovalCause, Trigger } from './decider.js';
import type { Registry } from './registry.js';

/** Progress messages per verification: at most one per this many ms (plus the last one). */
export const PROGRESS_INTERVAL_MS = 250;

export interface CommandDeps {
  registry: Registry;
  signer: Signer;
  trust: TrustStore;
  /** Where refused requests are recorded (`security.envelope.rejected`). */
  events: EventStore;
  log: Logger;
  now?: () => number;
}

export interface ServedCommands {
  subscriptions: Subscription[];
  /** Verifications still hashing in the background. */
  pending(): number;
  /** Unsubscribes, then waits for background verifications to finish. */
  stop(): Promise<void>;
}

/** A `{ bytesDone, totalBytes }` publisher for one request, at most ~4 messages a second. */
export function progressPublisher(
  publish: (payload: string) => void,
  now: () => number = Date.now,
  intervalMs = PROGRESS_INTERVAL_MS,
): { update(bytesDone: number, totalBytes: number): void; finish(): void } {
  let last = -Infinity;
  let pending: { bytesDone: number; totalBytes: number } | null = null;
  const send = (p: { bytesDone: number; totalBytes: number }) => {
    publish(JSON.stringify(p));
    last = now();
    pending = null;
  };
  return {
    update(bytesDone, totalBytes) {
      const p = { bytesDone, totalBytes };
      if (now() - last >= intervalMs) send(p);
      else pending = p;
    },
    finish() {
      if (pending) send(pending);
    },
  };
}

/** The trigger a verification request stands for: the inference service checks before loading. */
function triggerOf(caller: string): Trigger {
  return caller === 'inference' ? 'pre_load' : 'request';
}

/**
 * Who took the model out of service: the incident, else the person the signing service names
 * (recorded with that service: "alice (via ui)"), else the service itself (the console's CLI).
 */
export function causeOf(
  caller: string,
  incidentId: string | undefined,
  operator?: string,
): RemovalCause {
  if (incidentId !== undefined) return { kind: 'incident', incidentId };
  if (operator === undefined) return { kind: 'operator', operator: caller };
  const suffix = ` (via ${caller})`;
  return { kind: 'operator', operator: `${operator.slice(0, 256 - suffix.length)}${suffix}` };
}

const unknownModel = (model: string) =>
  ({
    ok: false,
    code: 'model_unknown',
    message: `no model sha256:${model} in the registry`,
  }) as const;

/**
 * `secai.cmd.registry.verify`, `.quarantine_model` and `.remove`, signed both ways. Refused
 * requests (bad signature, a caller not listed for the command) are answered with the envelope
 * error code and recorded as `security.envelope.rejected` on `service/registry`.
 */
export function serveCommands(nc: NatsConnection, deps: CommandDeps): ServedCommands {
  const log = deps.log;
  const now = deps.now ?? Date.now;
  const background = new Set<Promise<void>>();
  const onRejected = recordRefusedCommand(deps.events, 'registry-commands', log);
  const onError = (err: unknown) => log.error({ err }, 'registry command failed');
  const common = { signer: deps.signer, trust: deps.trust, onRejected, onError };

  const verify = serveCommand(nc, {
    ...common,
    command: 'registry.verify',
    handle: async (request, ctx): Promise<CommandReply<'registry.verify'>> => {
      const target = await deps.registry.verificationTarget(request.model);
      if (!target.ok) return unknownModel(request.model);
      const progress = progressPublisher(
        (payload) => nc.publish(progressSubject('registry', ctx.requestId), payload),
        now,
      );
      const run = deps.registry
        .verify(request.model, {
          trigger: triggerOf(ctx.caller),
          causationId: ctx.requestId,
          correlationId: ctx.correlationId,
          onProgress: (done, total) => progress.update(done, total),
        })
        .then(
          () => progress.finish(),
          (err: unknown) =>
            log.error({ err, model: request.model }, 'background verification failed'),
        );
      background.add(run);
      void run.finally(() => background.delete(run));
      return { ok: true, sizeBytes: target.sizeBytes };
    },
  });

  const quarantine = serveCommand(nc, {
    ...common,
    command: 'registry.quarantine_model',
    handle: async (request, ctx): Promise<CommandReply<'registry.quarantine_model'>> => {
      const outcome = await deps.registry.contain(request.model, {
        cause: causeOf(ctx.caller, request.incidentId, request.operator),
        reason: request.reason,
        causationId: ctx.requestId,
        correlationId: ctx.correlationId,
      });
      if (outcome.decision.refusal || outcome.containedPath === null)
        return unknownModel(request.model);
      return {
        ok: true,
        containedPath: outcome.containedPath,
        alreadyContained: outcome.alreadyContained,
      };
    },
  });

  const remove = serveCommand(nc, {
    ...common,
    command: 'registry.remove',
    handle: async (request, ctx): Promise<CommandReply<'registry.remove'>> => {
      const outcome = await deps.registry.remove(request.model, {
        cause: causeOf(ctx.caller, undefined, request.operator),
        reason: request.reason,
        causationId: ctx.requestId,
        correlationId: ctx.correlationId,
      });
      if (outcome.decision.refusal) return unknownModel(request.model);
      return { ok: true, removed: outcome.removed };
    },
  });

  const subscriptions = [verify, quarantine, remove];
  return {
    subscriptions,
    pending: () => background.size,
    async stop() {
      for (const s of subscriptions) s.unsubscribe();
      await Promise.all([...background]);
    },
  };
}
