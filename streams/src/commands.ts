import type { NatsConnection, Subscription } from '@nats-io/transport-node';
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
  let response;
  try {
    response = await nc.request(commandSubject(def.handler, def.name), bytes, {
      timeout: options.timeoutMs ?? 10_000,
    });
  } catch (cause) {
    throw new StreamError('COMMAND_TIMEOUT', `${options.command}: no answer from ${def.handler}`, {
      cause,
    });
  }
  const verified = verifyCommand(response.data, options.trust, {
    command: options.command,
    direction: 'reply',
    inReplyTo: document.id,
  });
  return verified.document.data as CommandReply<C>;
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
