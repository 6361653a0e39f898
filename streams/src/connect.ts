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
    });
  } catch (cause) {
    throw new StreamError(
      'NATS_UNREACHABLE',
      `cannot connect to ${options.url} as ${options.user.name}`,
      { cause },
    );
  }
}
