import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { NatsUser } from './credentials.js';
import { StreamError } from './errors.js';
import { inboxPrefixOf } from './permissions.js';

export interface ConnectOptions {
  url: string;
  user: NatsUser;
  /** Connection name shown in server monitoring. */
  name?: string;
  timeoutMs?: number;
  /**
   * Build an `Error` at every request and publish so that a failed one shows its caller's stack
   * (the nats.js default). Off by default (`noAsyncTraces`): it costs a JetStream publisher about
   * 30 % of its thread (two or three `Error` objects per publish) and services and the CLI never
   * print those stacks. The test helpers (`@secai/streams/testing`) turn it on;
   * `SECAI_NATS_ASYNC_TRACES=1` turns it on in any process, for debugging.
   */
  asyncTraces?: boolean;
}

/** Whether `connectAs` builds async stack traces when the caller does not say. */
export function asyncTracesByDefault(): boolean {
  return process.env.SECAI_NATS_ASYNC_TRACES === '1';
}

/**
 * Connects as one identity: nkey challenge signed with its seed, replies on its private inbox
 * prefix (its permissions allow no other), and reconnects forever so a restarted server is
 * picked up without losing the process.
 */
export async function connectAs(options: ConnectOptions): Promise<NatsConnection> {
  try {
    return await connect({
      servers: options.url,
      name: options.name ?? `secai-${options.user.name}`,
      authenticator: nkeyAuthenticator(options.user.seed),
      inboxPrefix: inboxPrefixOf(options.user.name),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: options.timeoutMs ?? 5000,
      noAsyncTraces: !(options.asyncTraces ?? asyncTracesByDefault()),
    });
  } catch (cause) {
    throw new StreamError(
      'NATS_UNREACHABLE',
      `cannot connect to ${options.url} as ${options.user.name}`,
      { cause },
    );
  }
}
