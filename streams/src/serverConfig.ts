import type { NatsUser } from './credentials.js';
import { DASHBOARD, inboxPrefixOf, permissionsFor } from './permissions.js';

/**
 * The websocket listener for the browser (issue 14): on loopback only, plain `ws://` (the page
 * and the bus are on the same host; TLS, where used, ends at the UI service), accepting a
 * browser only from the UI's own origins. Only the `dashboard` user may connect through it.
 */
export interface WebsocketListenerOptions {
  /** 0 lets the server pick a free port (read from its ports file, like the client port). */
  port: number;
  /**
   * The only `Origin` headers the server accepts (scheme, host and port must match). A client
   * that sends no `Origin` (not a browser) is not checked by nats-server: that is why the
   * listener is on loopback and open to the read-only `dashboard` user alone.
   */
  allowedOrigins: readonly string[];
}

/** The UI's origins a browser shows when it is served from `127.0.0.1:<uiPort>`. */
export function uiOrigins(uiPort: number): string[] {
  return [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];
}

/**
 * Which listeners a user may come through: the dashboard over TCP (`secai watch`) and the
 * websocket (the page); every other identity over TCP only, so a service's seed is of no use
 * to a page.
 */
function connectionTypes(user: string): string[] {
  return user === DASHBOARD ? ['STANDARD', 'WEBSOCKET'] : ['STANDARD'];
}

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
  /** Adds the loopback websocket listener (absent: none, the server listens on TCP only). */
  websocket?: WebsocketListenerOptions;
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
 * of the authority table, each allowed only on the listeners it needs (`connectionTypes`);
 * optionally the loopback websocket listener for the browser.
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
    ...(options.websocket
      ? {
          websocket: {
            // Fixed, not an option: the listener is never reachable from another host.
            host: '127.0.0.1',
            port: options.websocket.port === 0 ? -1 : options.websocket.port,
            no_tls: true,
            allowed_origins: [...options.websocket.allowedOrigins],
          },
        }
      : {}),
    authorization: {
      users: options.users.map((u) => ({
        nkey: u.publicKey,
        permissions: permissionsFor(u.name, options.stream),
        allowed_connection_types: connectionTypes(u.name),
      })),
    },
    ...(options.systemUser
      ? {
          accounts: {
            [SYSTEM_ACCOUNT]: {
              users: [
                {
                  nkey: options.systemUser.publicKey,
                  allowed_connection_types: ['STANDARD'],
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
