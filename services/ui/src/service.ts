import type { FastifyInstance } from 'fastify';
import {
  watchBus,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import type { TrustBundle, TrustStore } from '@secai/contracts';
import { Auth } from './auth.js';
import { AuthStore } from './authStore.js';
import { BusSource } from './busCredentials.js';
import { buildHttp } from './http.js';
import { fetchIncidentExport } from './incidentExport.js';
import { DEFAULT_SCRYPT, Kdf, type ScryptParams } from './kdf.js';
import { OperatorActions } from './operatorActions.js';
import { latestDecisions, recordedDecisions } from './recordedDecisions.js';
import { DEFAULT_SESSION_LIMITS, type SessionLimits } from './sessionRules.js';
import { SessionTable } from './sessions.js';
import { DEFAULT_THROTTLE_RULES, LoginThrottle, type ThrottleRules } from './throttle.js';
import { WebBundle } from './webBundle.js';

export interface UiConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `ui`; its trust cache follows the trust bundle in KV. */
  store: EventStore;
}

export interface StartUiOptions {
  /** `<state>`: the UI's files (`ui/`), runtime.json, the dashboard identity's seed. */
  stateDir: string;
  /** The appliance root's keyid as pinned in the state dir (`pinnedRootKeyid`). */
  rootKeyid: string;
  webDist: string;
  log: Logger;
  secureCookies?: boolean;
  allowedHosts?: readonly string[];
  recorderUrl?: string | null;
  /** The websocket URL boot passed in the environment, when runtime.json names none. */
  websocketUrl?: string | null;
  sessions?: SessionLimits;
  throttle?: ThrottleRules;
  /** Tests only: cheaper scrypt parameters (the stored record names what it was made with). */
  scrypt?: ScryptParams;
  /** Milliseconds, for sessions and throttling (tests run them on a clock of their own). */
  now?: () => number;
  /** How long an operator action waits for its handler. */
  actionTimeoutMs?: number;
}

export interface RunningUi {
  auth: Auth;
  sessions: SessionTable;
  throttle: LoginThrottle;
  http: FastifyInstance;
  stop(): Promise<void>;
}

/**
 * Wires the UI: the auth file (first boot prints the setup code), sessions and the throttle in
 * memory, the bus credentials for the page, the operator actions as signed commands, and the
 * HTTP edge serving the API and the built page.
 */
export async function startUi(conn: UiConnection, options: StartUiOptions): Promise<RunningUi> {
  const now = options.now ?? Date.now;
  const sessions = new SessionTable(options.sessions ?? DEFAULT_SESSION_LIMITS);
  const throttle = new LoginThrottle(options.throttle ?? DEFAULT_THROTTLE_RULES);
  const auth = new Auth({
    store: new AuthStore(options.stateDir),
    kdf: new Kdf(options.scrypt ?? DEFAULT_SCRYPT),
    sessions,
    throttle,
    now,
    log: options.log,
  });
  await auth.start();
  // The trust cache (or a fixed store in tests) carries the bundle the page verifies with.
  const trust = conn.store.trust as TrustStore & { bundle?: TrustBundle };
  if (trust.bundle === undefined)
    throw new Error('the UI needs a trust store that holds its bundle');
  const busWatch = watchBus(conn.nc);
  const http = buildHttp({
    auth,
    sessions,
    bus: new BusSource({
      stateDir: options.stateDir,
      rootKeyid: options.rootKeyid,
      trustBundle: () => trust.bundle!,
      fallbackWebsocketUrl: options.websocketUrl ?? null,
      now,
    }),
    busWatch,
    actions: new OperatorActions({
      nc: conn.nc,
      signer: conn.store.signer,
      trust,
      ...(options.actionTimeoutMs !== undefined ? { timeoutMs: options.actionTimeoutMs } : {}),
    }),
    exportIncident: (id) =>
      fetchIncidentExport(
        {
          signer: conn.store.signer,
          stateDir: options.stateDir,
          recorderUrl: options.recorderUrl ?? null,
        },
        id,
      ),
    decisions: {
      named: (ids) => recordedDecisions({ js: conn.js, jsm: conn.jsm, trust }, ids),
      latest: () => latestDecisions({ js: conn.js, jsm: conn.jsm, trust }),
    },
    web: new WebBundle(options.webDist),
    secureCookies: options.secureCookies ?? false,
    allowedHosts: options.allowedHosts ?? [],
    now,
    log: options.log,
  });
  let stopped = false;
  return {
    auth,
    sessions,
    throttle,
    http,
    async stop() {
      if (stopped) return;
      stopped = true;
      busWatch.stop();
      await http.close();
    },
  };
}
