import {
  COMMANDS,
  type ContainmentCommand,
  EnvelopeError,
  commandSubject,
  newEventId,
  signCommand,
  verifyCommand,
  type CommandReply,
  type CommandRequest,
  type EventType,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { sendCommand, serveCommand } from '../commandBus.js';
import type { EventStore, LoadedEvent } from '../eventStore.js';
import type { ServiceClient, TestAppliance } from './index.js';

export { CONTAINMENT_COMMANDS, type ContainmentCommand } from '@secai/contracts';

/** The calling identity the conformance kit speaks as. */
export const CONTAINMENT_CALLER = 'incident-recorder';

export interface ContainmentConformanceOptions<C extends ContainmentCommand> {
  /** The test appliance the target's handler is running on. */
  app: TestAppliance;
  command: C;
  /** A request the target can carry out (for the registry: a stored model). */
  request: CommandRequest<C>;
  /**
   * Whether an `ok` reply says the action already held before the request. Default: the
   * containment reply's `alreadyDone` (the registry says `alreadyContained`).
   */
  alreadyDone?: (reply: Extract<CommandReply<C>, { ok: true }>) => boolean;
  /**
   * The target's own event confirming the action, on `aggregate` (`model/<hex>`), with the
   * request as its `causationid`. Omit when the target has none: its answer is all there is.
   */
  confirmingEvent?: { type: EventType; aggregate: string };
  /** An identity that is not among the command's callers (default: the first such service). */
  unauthorisedCaller?: string;
  /** Whether a refused request must also be recorded as `security.envelope.rejected` (default true). */
  expectRejectionRecorded?: boolean;
  timeoutMs?: number;
}

export interface ConformanceCheck {
  name:
    | 'reply_shape'
    | 'confirming_event'
    | 'idempotent'
    | 'no_second_event'
    | 'bus_refuses_unauthorised'
    | 'handler_refuses_unauthorised'
    | 'rejection_recorded';
  ok: boolean;
  detail: string;
}

export interface ConformanceReport {
  command: ContainmentCommand;
  ok: boolean;
  checks: ConformanceCheck[];
  /** The failed checks (empty when the target conforms): `expect(report.failures).toEqual([])`. */
  failures: ConformanceCheck[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventsOf(store: EventStore, aggregate: string): Promise<LoadedEvent[]> {
  const slash = aggregate.indexOf('/');
  return (await store.load(aggregate.slice(0, slash), aggregate.slice(slash + 1))).events;
}

/** Sends a request signed as `signer` on `nc` and returns the verified reply, or the failure. */
async function rawRequest<C extends ContainmentCommand>(
  nc: NatsConnection,
  command: C,
  request: CommandRequest<C>,
  signer: Signer,
  trust: TrustStore,
  timeoutMs: number,
): Promise<{ requestId: string; reply?: CommandReply<C>; error?: string }> {
  const def = COMMANDS[command];
  const { document, bytes } = signCommand(command, 'request', request, signer, { now: new Date() });
  try {
    const response = await nc.request(commandSubject(def.handler, def.name), bytes, {
      timeout: timeoutMs,
    });
    const verified = verifyCommand(response.data, trust, {
      command,
      direction: 'reply',
      inReplyTo: document.id,
    });
    return { requestId: document.id, reply: verified.document.data as CommandReply<C> };
  } catch (err) {
    const message =
      err instanceof EnvelopeError ? `${err.code}: ${err.message}` : (err as Error).message;
    return { requestId: document.id, error: message };
  }
}

/**
 * The containment conformance kit: proves a target's side of a containment command against its
 * running handler. It sends the command as the incident recorder and checks that
 * - the reply is signed by the handler, answers the request and fits the reply schema, `ok: true`;
 * - the target's confirming event (if it has one) is stored with the request as causation;
 * - a second, identical request is `ok` and says the action already held, and records nothing new;
 * - an identity that is not a caller is refused twice: by the bus (its own NATS user may not
 *   publish on the subject) and by the handler (a request signed by it but carried by a user that
 *   may publish is answered `TYPE_NOT_AUTHORISED`, changes nothing, and is recorded as
 *   `security.envelope.rejected` on the handler's `service/<name>` aggregate).
 */
export async function checkContainmentTarget<C extends ContainmentCommand>(
  options: ContainmentConformanceOptions<C>,
): Promise<ConformanceReport> {
  const { app, command } = options;
  const def = COMMANDS[command];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const checks: ConformanceCheck[] = [];
  const check = (name: ConformanceCheck['name'], ok: boolean, detail: string) =>
    checks.push({ name, ok, detail });
  const alreadyDone =
    options.alreadyDone ??
    ((reply: Extract<CommandReply<C>, { ok: true }>) =>
      (reply as { alreadyDone?: boolean }).alreadyDone === true);
  const recorder = await app.client(CONTAINMENT_CALLER);
  const send = () =>
    sendCommand(recorder.nc, {
      command,
      signer: app.pki.signerFor(CONTAINMENT_CALLER),
      trust: app.pki.trust,
      request: options.request,
      timeoutMs,
    });
  const confirming = async (): Promise<LoadedEvent[]> =>
    options.confirmingEvent
      ? (await eventsOf(app.admin.store, options.confirmingEvent.aggregate)).filter(
          (e) => e.event.type === options.confirmingEvent!.type,
        )
      : [];

  // 1. The first request: carried out, answered ok, confirmed by the target's own event.
  const before = (await confirming()).length;
  let firstId: string | undefined;
  try {
    const requestId = newEventId();
    const first = await sendCommand(recorder.nc, {
      command,
      signer: app.pki.signerFor(CONTAINMENT_CALLER),
      trust: app.pki.trust,
      request: options.request,
      timeoutMs,
      requestId,
    });
    firstId = requestId;
    check(
      'reply_shape',
      first.ok && !alreadyDone(first as Extract<CommandReply<C>, { ok: true }>),
      first.ok
        ? `signed reply from ${def.handler}, ok${alreadyDone(first as Extract<CommandReply<C>, { ok: true }>) ? ' but already done before the first request' : ''}`
        : `refused: ${first.code}: ${first.message}`,
    );
  } catch (err) {
    check('reply_shape', false, `no valid reply: ${(err as Error).message}`);
  }
  if (options.confirmingEvent && firstId) {
    const deadline = Date.now() + timeoutMs;
    let found: LoadedEvent | undefined;
    while (!found && Date.now() < deadline) {
      found = (await confirming()).find((e) => e.event.causationid === firstId);
      if (!found) await sleep(25);
    }
    check(
      'confirming_event',
      found !== undefined && found.signer.service === def.handler,
      found
        ? `${found.event.type} ${found.event.id} at seq ${found.seq}, signed by ${found.signer.service}`
        : `no ${options.confirmingEvent.type} on ${options.confirmingEvent.aggregate} caused by ${firstId}`,
    );
  }

  // 2. The same request again: ok, already done, nothing new recorded.
  try {
    const second = await send();
    check(
      'idempotent',
      second.ok && alreadyDone(second as Extract<CommandReply<C>, { ok: true }>),
      second.ok
        ? `second reply ok, already done: ${String(alreadyDone(second as Extract<CommandReply<C>, { ok: true }>))}`
        : `second request refused: ${second.code}: ${second.message}`,
    );
  } catch (err) {
    check('idempotent', false, `no valid reply to the second request: ${(err as Error).message}`);
  }
  if (options.confirmingEvent) {
    const after = (await confirming()).length;
    check(
      'no_second_event',
      after === before + 1,
      `${after - before} ${options.confirmingEvent.type} event(s) recorded for two requests`,
    );
  }

  // 3. An identity that is not a caller: the bus refuses its user, the handler its signature.
  const outsider =
    options.unauthorisedCaller ??
    ['ui', 'inference', 'tool-firewall', 'search-mediator', 'agent', 'airlock', 'quarantine'].find(
      (s) => !(def.callers as readonly string[]).includes(s) && s !== def.handler,
    )!;
  let outsiderClient: ServiceClient | undefined;
  try {
    outsiderClient = await app.client(outsider);
    const viaOwnUser = await rawRequest(
      outsiderClient.nc,
      command,
      options.request,
      app.pki.signerFor(outsider),
      app.pki.trust,
      Math.min(timeoutMs, 2000),
    );
    check(
      'bus_refuses_unauthorised',
      viaOwnUser.reply === undefined,
      viaOwnUser.reply === undefined
        ? `${outsider}'s NATS user got no answer (${viaOwnUser.error ?? 'refused'})`
        : `${outsider}'s NATS user reached the handler`,
    );
  } catch (err) {
    check(
      'bus_refuses_unauthorised',
      true,
      `${outsider} could not send: ${(err as Error).message}`,
    );
  }
  const confirmedBefore = (await confirming()).length;
  const viaAdmin = await rawRequest(
    app.admin.nc,
    command,
    options.request,
    app.pki.signerFor(outsider),
    app.pki.trust,
    timeoutMs,
  );
  const refused = viaAdmin.reply !== undefined && !viaAdmin.reply.ok;
  check(
    'handler_refuses_unauthorised',
    refused &&
      (viaAdmin.reply as { code: string }).code === 'TYPE_NOT_AUTHORISED' &&
      (await confirming()).length === confirmedBefore,
    viaAdmin.reply === undefined
      ? `no valid reply: ${viaAdmin.error ?? ''}`
      : viaAdmin.reply.ok
        ? `a request signed by ${outsider} was carried out`
        : `refused: ${viaAdmin.reply.code}`,
  );
  if (options.expectRejectionRecorded ?? true) {
    const deadline = Date.now() + timeoutMs;
    let recorded = false;
    while (!recorded && Date.now() < deadline) {
      const events = await eventsOf(app.admin.store, `service/${def.handler}`).catch(() => []);
      recorded = events.some(
        (e) =>
          e.event.type === 'security.envelope.rejected' &&
          (e.event.data as { claimed?: { id?: string } }).claimed?.id === viaAdmin.requestId,
      );
      if (!recorded) await sleep(25);
    }
    check(
      'rejection_recorded',
      recorded,
      recorded
        ? `security.envelope.rejected on service/${def.handler}`
        : `no security.envelope.rejected for request ${viaAdmin.requestId} on service/${def.handler}`,
    );
  }
  const failures = checks.filter((c) => !c.ok);
  return { command, ok: failures.length === 0, checks, failures };
}

export interface FakeTarget {
  /** Requests answered so far, with their callers. */
  readonly calls: { caller: string; requestId: string; incidentId: string | undefined }[];
  /** Whether the action holds (after the first successful request). */
  readonly done: boolean;
  /** Holds answers back until `release()` (the request is carried out, the answer waits). */
  hold(): void;
  release(): void;
  stop(): void;
}

/**
 * A minimal conforming target for a containment command without a service of its own yet
 * (`agent.freeze`, `airlock.disable`, `appliance.relock_vault`): it serves the command as its
 * handler identity, answers `{ ok: true, alreadyDone }` idempotently, and refuses what the
 * envelope rules refuse. For tests and benchmarks of the recorder.
 */
export function fakeContainmentTarget(
  client: Pick<ServiceClient, 'nc'>,
  command: Exclude<ContainmentCommand, 'registry.quarantine_model'>,
  pki: { signerFor(service: string): Signer; trust: TrustStore },
): FakeTarget {
  const def = COMMANDS[command];
  const calls: FakeTarget['calls'] = [];
  let done = false;
  let held: Promise<void> | null = null;
  let release = () => {};
  const sub: Subscription = serveCommand(client.nc, {
    command,
    signer: pki.signerFor(def.handler),
    trust: pki.trust,
    handle: async (request, ctx) => {
      const alreadyDone = done;
      done = true;
      calls.push({ caller: ctx.caller, requestId: ctx.requestId, incidentId: request.incidentId });
      if (held) await held;
      return { ok: true, alreadyDone };
    },
  });
  return {
    calls,
    get done() {
      return done;
    },
    hold() {
      held ??= new Promise<void>((resolve) => {
        release = () => {
          held = null;
          resolve();
        };
      });
    },
    release: () => release(),
    stop: () => sub.unsubscribe(),
  };
}
