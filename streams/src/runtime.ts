import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  canonicalJson,
  createSigner,
  keyidOf,
  loadServiceIdentity,
  sha256Hex,
  type ServiceIdentity,
  type Signer,
} from '@secai/contracts';
import { watchBus } from './busWatch.js';
import { connectAs } from './connect.js';
import { loadNatsUser } from './credentials.js';
import { EventStore } from './eventStore.js';
import { StreamError } from './errors.js';
import { TrustCache } from './trust.js';

/** Written by `secai boot` so every other process finds the bus it started. */
export interface RuntimeInfo {
  pid: number;
  natsUrl: string;
  startedAt: string;
  stateDir: string;
  /** Each service's HTTP port as booted (`--port-offset` included), for clients on this host. */
  httpPorts?: Record<string, number>;
  /**
   * `ws://127.0.0.1:<port>`: the bus's loopback websocket listener, for the browser's read-only
   * `dashboard` connection (handed to the page by the UI service after login). Absent when boot
   * runs against an external NATS (`--nats-url`): no listener was configured then.
   */
  natsWebsocketUrl?: string;
}

export function runtimeInfoPath(stateDir: string): string {
  return join(stateDir, 'run', 'runtime.json');
}

export async function readRuntimeInfo(stateDir: string): Promise<RuntimeInfo | null> {
  try {
    return JSON.parse(await readFile(runtimeInfoPath(stateDir), 'utf8')) as RuntimeInfo;
  } catch {
    return null;
  }
}

/** The keyid of the appliance root, read from this machine's state dir (the pin). */
export async function pinnedRootKeyid(stateDir: string): Promise<string> {
  const path = join(stateDir, 'identity', 'root', 'cert.pem');
  try {
    return keyidOf(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new StreamError(
      'CREDENTIALS_MISSING',
      `appliance root certificate not found at ${path}`,
      { cause },
    );
  }
}

/** One identity of this appliance connected to its bus: what services and the CLI work with. */
export interface Connected {
  service: string;
  stateDir: string;
  natsUrl: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  trust: TrustCache;
  signer: Signer;
  store: EventStore;
  /** The identity's certificate and key (for a signing pool's worker threads). */
  identity: ServiceIdentity;
}

export interface ServiceRuntime extends Connected {
  /** Records `service.stopped` and drains the connection. */
  close(reason: string): Promise<void>;
}

export interface RuntimeOptions {
  stateDir: string;
  /** Defaults to $SECAI_NATS_URL, then the URL `secai boot` recorded. */
  natsUrl?: string;
  version: string;
  /** The service's effective configuration, digested into `service.started`. */
  config: unknown;
  /** `ConnectOptions.asyncTraces` (default off: the service configuration). */
  asyncTraces?: boolean;
}

/**
 * Connects as `identity` of the appliance in `stateDir`: its certificate and key, its NATS user,
 * the trust bundle pinned to this appliance's root, an event store signing as itself. Any missing
 * credential refuses (fail closed): `NATS_UNREACHABLE` when no bus is known or reachable.
 */
export async function connectIdentity(
  identity: string,
  options: {
    stateDir: string;
    natsUrl?: string | undefined;
    connectionName?: string;
    /** `ConnectOptions.asyncTraces` (default off: the service configuration). */
    asyncTraces?: boolean;
  },
): Promise<Connected> {
  const natsUrl =
    options.natsUrl ??
    process.env.SECAI_NATS_URL ??
    (await readRuntimeInfo(options.stateDir))?.natsUrl;
  if (!natsUrl) {
    throw new StreamError(
      'NATS_UNREACHABLE',
      `no NATS URL: is secai boot running with state dir ${options.stateDir}?`,
    );
  }
  const serviceIdentity = await loadServiceIdentity(options.stateDir, identity);
  const signer = createSigner(serviceIdentity);
  const user = await loadNatsUser(options.stateDir, identity);
  const rootKeyid = await pinnedRootKeyid(options.stateDir);
  const nc = await connectAs({
    url: natsUrl,
    user,
    ...(options.connectionName ? { name: options.connectionName } : {}),
    ...(options.asyncTraces !== undefined ? { asyncTraces: options.asyncTraces } : {}),
  });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const trust = await TrustCache.open(nc, rootKeyid);
  const store = new EventStore(js, jsm, { signer, trust });
  return {
    service: identity,
    stateDir: options.stateDir,
    natsUrl,
    nc,
    js,
    jsm,
    trust,
    signer,
    store,
    identity: serviceIdentity,
  };
}

/**
 * Everything a service process needs before its own logic runs (`connectIdentity`), then
 * `service.started` on its own aggregate.
 */
export async function startServiceRuntime(
  service: string,
  options: RuntimeOptions,
): Promise<ServiceRuntime> {
  const connected = await connectIdentity(service, options);
  const { store, trust, nc } = connected;
  await store.appendServiceEvent({
    type: 'service.started',
    aggregateId: service,
    data: {
      service: service as never,
      version: options.version,
      pid: process.pid,
      configDigest: `sha256:${sha256Hex(canonicalJson(options.config))}`,
    },
  });
  let closed = false;
  const bus = watchBus(nc);
  return {
    ...connected,
    async close(reason) {
      if (closed) return;
      closed = true;
      // A dead bus cannot take `service.stopped` nor a drain: waiting on either only makes the
      // supervisor kill the process after its grace (issue 10 §4). Close at once instead.
      if (bus.connected()) {
        await store
          .appendServiceEvent({
            type: 'service.stopped',
            aggregateId: service,
            data: { service: service as never, pid: process.pid, reason: reason.slice(0, 256) },
          })
          .catch(() => undefined);
      }
      trust.close();
      bus.stop();
      if (!bus.connected() || !(await drainWithin(nc, CLOSE_DRAIN_MS)))
        await nc.close().catch(() => undefined);
    },
  };
}

/** How long a stopping service lets its connection drain before it closes it. */
const CLOSE_DRAIN_MS = 5_000;

/** Drains `nc`; false when that did not finish within `ms` (the bus went away meanwhile). */
async function drainWithin(nc: NatsConnection, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      nc.drain().then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A service process's shutdown: on the first SIGTERM or SIGINT, run `stopService` (close its
 * gateway, consumers, commands), record `service.stopped` and drain (`rt.close`), then exit 0.
 * Later signals are ignored while that runs.
 */
export function stopOnSignals(
  rt: Pick<ServiceRuntime, 'close'>,
  log: { info(obj: object, msg: string): void },
  stopService: () => Promise<void>,
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await stopService();
    await rt.close(`signal ${signal}`);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
