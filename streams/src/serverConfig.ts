import type { NatsUser } from './credentials.js';
import { inboxPrefixOf, permissionsFor } from './permissions.js';

export interface ServerConfigOptions {
  host?: string;
  /** 0 (or -1) lets the server pick; the launcher reads the chosen port from its ports file. */
  port: number;
  storeDir: string;
  users: readonly NatsUser[];
  stream?: string;
  serverName?: string;
  maxFileStore?: number;
  /** Version of the nats-server that will read this config (2.9 refuses unknown fields). */
  serverVersion?: readonly [number, number, number];
  /**
   * The one user of the server's system account (`SYS`): it may only ask the server about its
   * connections (`CONNZ`), which is how the appliance's consumer warden learns which identity
   * made a JetStream request on servers whose API audit does not name the requester (2.9).
   */
  systemUser?: NatsUser;
}

/** The system account of the generated config; the identities stay in the global account. */
export const SYSTEM_ACCOUNT = 'SYS';

/** `sync_interval` exists from 2.10 on; 2.9.10 refuses a config that names it. */
export function supportsSyncInterval(
  version: readonly [number, number, number] | undefined,
): boolean {
  return version !== undefined && (version[0] > 2 || (version[0] === 2 && version[1] >= 10));
}

/**
 * The generated nats-server configuration (JSON is valid NATS config syntax). Loopback only;
 * JetStream on file storage in the state dir; one nkey user per identity with the permissions
 * of the authority table.
 *
 * Durability on 2.9.10: the server writes every message to its block file before it sends the
 * publish ack, so an acknowledged event survives a crash or `kill -9` of the server process
 * (the bytes are in the OS page cache). 2.9 has no `sync_interval`, so the file is fsynced on
 * the server's own schedule: a power loss can drop the last acknowledged writes. The image pins a
 * newer server and sets `sync_interval: always`.
 */
export function renderServerConfig(options: ServerConfigOptions): string {
  const config = {
    server_name: options.serverName ?? 'secai',
    host: options.host ?? '127.0.0.1',
    port: options.port === 0 ? -1 : options.port,
    max_payload: 2 * 1024 * 1024,
    jetstream: {
      store_dir: options.storeDir,
      max_memory_store: 64 * 1024 * 1024,
      max_file_store: options.maxFileStore ?? 10 * 1024 * 1024 * 1024,
      // fsync every write where the server supports it: then an ack also survives power loss.
      ...(supportsSyncInterval(options.serverVersion) ? { sync_interval: 'always' } : {}),
    },
    authorization: {
      users: options.users.map((u) => ({
        nkey: u.publicKey,
        permissions: permissionsFor(u.name, options.stream),
      })),
    },
    ...(options.systemUser
      ? {
          accounts: {
            [SYSTEM_ACCOUNT]: {
              users: [
                {
                  nkey: options.systemUser.publicKey,
                  permissions: {
                    publish: { allow: ['$SYS.REQ.ACCOUNT.*.CONNZ', '$SYS.REQ.SERVER.PING.CONNZ'] },
                    subscribe: { allow: [`${inboxPrefixOf(options.systemUser.name)}.>`] },
                  },
                },
              ],
            },
          },
          system_account: SYSTEM_ACCOUNT,
        }
      : {}),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
