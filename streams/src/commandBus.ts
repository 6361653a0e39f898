import {
  NoRespondersError,
  RequestError,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import {
  COMMANDS,
  EnvelopeError,
  commandSubject,
  decodePayload,
  parseEnvelope,
  signCommand,
  verifyCommand,
  type CommandReply,
  type CommandRequest,
  type CommandType,
  type Signer,
  type TrustStore,
} from '@secai/contracts';
import { StreamError } from './errors.js';

export interface CommandContext {
  caller: string;
  requestId: string;
  correlationId: string;
}

export interface ServeCommandOptions<C extends CommandType> {
  command: C;
  signer: Signer;
  trust: TrustStore;
  handle: (request: CommandRequest<C>, ctx: CommandContext) => Promise<CommandReply<C>>;
  /** Called with every refused request (the handler records `security.envelope.rejected`). */
  onRejected?: (err: EnvelopeError, bytes: Uint8Array, natsSubject: string) => Promise<void> | void;
  onError?: (err: unknown) => void;
  now?: () => Date;
}

/** Serves one command: verify the signed request, run the handler, answer with a signed reply. */
export function serveCommand<C extends CommandType>(
  nc: NatsConnection,
  options: ServeCommandOptions<C>,
): Subscription {
  const def = COMMANDS[options.command];
  const now = options.now ?? (() => new Date());
  return nc.subscribe(commandSubject(def.handler, def.name), {
    callback: (err, msg) => {
      if (err) return options.onError?.(err);
      void (async () => {
        let reply: unknown;
        let causationId: string | undefined;
        let correlationId: string | undefined;
        try {
          const { document, signer } = verifyCommand(msg.data, options.trust, {
            command: options.command,
            direction: 'request',
          });
          causationId = document.id;
          correlationId = document.correlationid;
          reply = await options.handle(document.data as CommandRequest<C>, {
            caller: signer,
            requestId: document.id,
            correlationId: document.correlationid,
          });
        } catch (e) {
          if (e instanceof EnvelopeError) {
            await options.onRejected?.(e, msg.data, msg.subject);
            // Answer the id the request claims, so the caller can match the refusal to it.
            causationId ??= e.claims.id ?? claimedId(msg.data);
          } else options.onError?.(e);
          const code = e instanceof EnvelopeError ? e.code : 'COMMAND_FAILED';
          const message = e instanceof EnvelopeError ? e.message : 'the handler failed';
          reply = { ok: false, code, message: message.slice(0, 1024) };
        }
        const meta: { now: Date; causationId?: string; correlationId?: string } = { now: now() };
        if (causationId) meta.causationId = causationId;
        if (correlationId) meta.correlationId = correlationId;
        msg.respond(signCommand(options.command, 'reply', reply, options.signer, meta).bytes);
      })();
    },
  });
}

/** Sends a signed command and returns the verified reply (only the handler may answer). */
export async function sendCommand<C extends CommandType>(
  nc: NatsConnection,
  options: {
    command: C;
    signer: Signer;
    trust: TrustStore;
    request: CommandRequest<C>;
    timeoutMs?: number;
    now?: () => Date;
    /** The request's id (a fresh UUIDv7 by default): its progress subject is known before sending. */
    requestId?: string;
  },
): Promise<CommandReply<C>> {
  const def = COMMANDS[options.command];
  const { document, bytes } = signCommand(
    options.command,
    'request',
    options.request,
    options.signer,
    {
      now: (options.now ?? (() => new Date()))(),
      ...(options.requestId !== undefined ? { id: options.requestId } : {}),
    },
  );
  const timeoutMs = options.timeoutMs ?? 10_000;
  let response;
  try {
    // The default (muxed) request: it is the path that turns a 503 status into NoRespondersError.
    response = await nc.request(commandSubject(def.handler, def.name), bytes, {
      timeout: timeoutMs,
    });
  } catch (cause) {
    // The server answers a request nobody subscribes to with a 503 status at once (nats.js asks
    // for that on connect to any headers-capable server, which every supported one is): the
    // handler is not running here, which a caller must be able to tell from a handler that
    // did not answer in time.
    if (isNoResponders(cause))
      throw new StreamError(
        'COMMAND_TARGET_ABSENT',
        `${options.command}: no ${def.handler} service in this appliance (nothing answers ${commandSubject(def.handler, def.name)})`,
        { cause },
      );
    throw new StreamError(
      'COMMAND_TIMEOUT',
      `${options.command}: no answer from ${def.handler} within ${timeoutMs} ms`,
      { cause },
    );
  }
  const verified = verifyCommand(response.data, options.trust, {
    command: options.command,
    direction: 'reply',
    inReplyTo: document.id,
  });
  return verified.document.data as CommandReply<C>;
}

/**
 * A request the server answered with "no responders". Checked on the whole cause chain, and by
 * name too, so a second copy of the NATS client in the tree (another `instanceof` target) cannot
 * turn an absent handler back into a timeout.
 */
export function isNoResponders(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof NoRespondersError || e.name === 'NoResponders') return true;
    if (e instanceof RequestError && e.isNoResponders()) return true;
  }
  return false;
}

/** The id an unverified request claims (only to address the refusal to it; never trusted). */
function claimedId(bytes: Uint8Array): string | undefined {
  try {
    const id = decodePayload(parseEnvelope(bytes)).id;
    return id.length <= 128 ? id : undefined;
  } catch {
    return undefined;
  }
}
