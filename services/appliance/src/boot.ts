import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  SERVICES,
  SERVICE_PORTS,
  canonicalJson,
  createSigner,
  loadServiceIdentity,
  loadTrustStore,
  sha256Hex,
  ensureIdentities,
  verifyEnvelope,
  writeFileAtomic,
  type ServiceIdentity,
} from '@secai/contracts';
import {
  EventStore,
  KV_BUCKETS,
  TrustCache,
  connectAs,
  ensureNatsUsers,
  ensureTopology,
  natsServerVersion,
  stopStaleNatsServer,
  publishTrustBundle,
  renderServerConfig,
  uiOrigins,
  runtimeInfoPath,
  watchBus,
  type Logger,
  type NatsConnection,
  type RuntimeInfo,
} from '@secai/streams';
import { activeNatsUsers, SYSTEM_USER } from './busUsers.js';
import { serveApplianceCommands } from './commandHandlers.js';
import { startConsumerWarden } from './consumerWarden.js';
import { NatsBus } from './natsBus.js';
import { Revoker } from './revocation.js';
import { checkAttestation, describeAttestation, type AttestationGate } from './attestationGate.js';
import { ApplianceError } from './errors.js';
import { acquireBootLock } from './lock.js';
import {
  SERVICE_DEFINITIONS,
  resolveEntry,
  startOrder,
  type ServiceDefinition,
} from './serviceTable.js';
import { Supervisor, type ServiceStatus } from './supervisor.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from './restartPolicy.js';

export interface BootOptions {
  stateDir: string;
  /** Use an existing NATS deployment instead of starting nats-server. */
  natsUrl?: string;
  /** Loopback port of the appliance's own nats-server (0 = any free port). */
  natsPort?: number;
  /**
   * Loopback port of the bus's websocket listener for the browser (0 = any free port). Default:
   * `DEFAULT_NATS_WEBSOCKET_PORT` + `portOffset`, or a free port when `natsPort` is 0.
   */
  natsWebsocketPort?: number;
  /** Added to every documented HTTP port (tests run beside a live appliance). */
  portOffset?: number;
  services?: readonly ServiceDefinition[];
  restartPolicy?: RestartPolicy;
  log: Logger;
  /** How long to wait for each service's `service.started`. */
  readyTimeoutMs?: number;
  /**
   * Refuse to start the other services unless attestation satisfies its policy. Off by default
   * (development mode: boot starts them and says loudly that it runs unattested).
   */
  requireAttestation?: boolean;
}

export interface BootedAppliance {
  natsUrl: string;
  /** The bus's loopback websocket listener (also in runtime.json); undefined on `natsUrl`. */
  natsWebsocketUrl: string | undefined;
  firstBoot: boolean;
  status(): ServiceStatus[];
  /** The appliance's own nats-server (restarts, last exit); null on an external `natsUrl`. */
  bus(): ServiceStatus | null;
  /**
   * Resolves when the appliance stopped itself because it cannot go on (`BUS_FAILED`: the
   * bus crashed more often than the restart policy allows); everything is already stopped then.
   * Never resolves otherwise.
   */
  failure: Promise<ApplianceError>;
  /** What the runtime attestor said before the other services started; null without one. */
  attestation: AttestationGate | null;
  /**
   * Stops services, drains the bus connection, stops nats-server; idempotent. With the bus
   * down nothing can be recorded or drained: services get SIGTERM all at once and a short
   * grace, and the connection is closed, not drained.
   */
  shutdown(reason: string): Promise<void>;
}

export const DEFAULT_NATS_PORT = 4280;
/** The websocket listener's documented port (plus `--port-offset`), beside the client port. */
export const DEFAULT_NATS_WEBSOCKET_PORT = 4281;
/** The UI service's documented port: the browser's origin the websocket listener accepts. */
const UI_PORT = SERVICE_PORTS.ui ?? 8480;
const APPLIANCE = 'appliance';
/** Grace per service when the bus is down: a service can neither record nor drain anything. */
const DEAD_BUS_GRACE_MS = 2_000;

/**
 * `secai boot`: enrol on first boot, start the bus, ensure topology and trust, then start every
 * service in dependency order, each as its own process with its own credentials.
 */
export async function boot(options: BootOptions): Promise<BootedAppliance> {
  const { stateDir, log } = options;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const releaseLock = await acquireBootLock(stateDir);
  const cleanups: (() => Promise<void>)[] = [releaseLock];
  const unwind = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    return await bootLocked(options, cleanups, unwind);
  } catch (err) {
    log.error({ err }, 'boot failed; undoing what was started');
    await unwind();
    throw err;
  }
}

async function bootLocked(
  options: BootOptions,
  cleanups: (() => Promise<void>)[],
  unwind: () => Promise<void>,
): Promise<BootedAppliance> {
  const { stateDir, log } = options;
  const now = new Date();

  // 1. Enrolment: identities and NATS users (created once, loaded afterwards).
  const identities = await ensureIdentities(stateDir, SERVICES, { now });
  const users = await ensureNatsUsers(stateDir, [
    APPLIANCE,
    'dashboard',
    ...SERVICES.filter((s) => s !== APPLIANCE),
  ]);
  // The system account's user: lets the consumer warden ask the server who made a request.
  const [systemUser] = await ensureNatsUsers(stateDir, [SYSTEM_USER]);
  log.info(
    { firstBoot: identities.created, issued: identities.issued.map((i) => i.service) },
    'identities ready',
  );
  // The bus config follows the state dir's bundle: a service whose every certificate is revoked
  // gets no NATS user, now and after a revocation while running (the server refuses it too).
  let bundle = identities.bundle;

  // 2. The bus.
  let natsUrl = options.natsUrl;
  /** Only on the appliance's own nats-server: an external NATS has no listener we configured. */
  let natsWebsocketUrl: string | undefined;
  let bus: NatsBus | null = null;
  let gaveUp: ((error: ApplianceError) => void) | undefined;
  const failure = new Promise<ApplianceError>((resolve) => (gaveUp = resolve));
  if (!natsUrl) {
    const runDir = join(stateDir, 'run', 'nats');
    const stale = await stopStaleNatsServer(runDir);
    if (stale !== null) log.warn({ pid: stale }, 'stopped a nats-server left by an earlier boot');
    const serverVersion = natsServerVersion();
    const port = options.natsPort ?? DEFAULT_NATS_PORT;
    const portOffset = options.portOffset ?? 0;
    // The browser reaches the bus only from the UI's page (issue 14): the listener accepts the
    // UI's own origins, on loopback.
    const allowedOrigins = uiOrigins(UI_PORT + portOffset);
    bus = new NatsBus({
      configPath: join(stateDir, 'nats', 'nats-server.json'),
      runDir,
      port,
      websocketPort:
        options.natsWebsocketPort ?? (port === 0 ? 0 : DEFAULT_NATS_WEBSOCKET_PORT + portOffset),
      render: (ports) =>
        renderServerConfig({
          port: ports.client,
          storeDir: join(stateDir, 'nats', 'jetstream'),
          users: activeNatsUsers(users, bundle),
          ...(systemUser ? { systemUser } : {}),
          ...(ports.websocket !== null
            ? { websocket: { port: ports.websocket, allowedOrigins } }
            : {}),
          serverVersion,
        }),
      log,
      ...(options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}),
      onGaveUp: (error) => gaveUp?.(error),
    });
    try {
      await bus.start();
    } catch (cause) {
      throw new ApplianceError(
        'NATS_START_FAILED',
        `nats-server did not start: ${(cause as Error).message}`,
        { cause },
      );
    }
    natsUrl = bus.url;
    natsWebsocketUrl = bus.websocketUrl;
    const started = bus;
    cleanups.push(() => started.stop());
    log.info(
      { url: natsUrl, websocketUrl: natsWebsocketUrl, pid: bus.status().pid },
      'nats-server started',
    );
  }

  const admin = users.find((u) => u.name === APPLIANCE)!;
  const nc = await connectAs({ url: natsUrl, user: admin });
  const watch = watchBus(nc);
  const busUp = () => watch.connected() && (bus === null || bus.running());
  // Draining a connection to a dead bus waits for a server that is not coming: close it then.
  cleanups.push(() => (busUp() ? nc.drain() : nc.close()).catch(() => undefined));
  cleanups.push(() => Promise.resolve(watch.stop()));
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const topology = await ensureTopology(nc, jsm);
  log.info(topology, 'topology ensured');

  // 3. Trust: the bundle in KV, pinned to our own root.
  const kv = await new Kvm(nc).open(KV_BUCKETS.trust);
  await publishTrustBundle(kv, identities.bundle);
  const trust = TrustCache.fixed(await loadTrustStore(identities.bundle, { now }));
  const applianceIdentity = await loadServiceIdentity(stateDir, APPLIANCE);
  const store = new EventStore(js, jsm, { signer: createSigner(applianceIdentity), trust });
  if (identities.created) {
    await store.append(
      [
        {
          type: 'identity.root.created',
          aggregateId: 'root',
          data: {
            keyid: identities.root.keyid,
            certificate: identities.root.certificatePem,
            notAfter: identities.root.notAfter.toISOString(),
          },
        },
      ],
      { expectedSequence: 'any' },
    );
  }
  for (const issued of identities.issued) await recordIssued(store, issued);

  // 3b. Guards of the bus (issue 10): the consumer warden, and revocation while running.
  let system: NatsConnection | null = null;
  if (bus !== null && systemUser) {
    const sys = await connectAs({ url: natsUrl, user: systemUser, name: 'secai-appliance-system' });
    system = sys;
    cleanups.push(() => sys.close().catch(() => undefined));
  }
  const warden = startConsumerWarden({
    nc,
    jsm,
    store,
    identities: new Map(users.map((u) => [u.publicKey, u.name])),
    system,
    log,
  });
  cleanups.push(() => Promise.resolve(warden.stop()));
  const liveTrust = await TrustCache.open(nc, identities.root.keyid);
  cleanups.push(() => Promise.resolve(liveTrust.close()));
  const revoker = new Revoker({
    stateDir,
    nc,
    jsm,
    store,
    bus,
    natsUrl,
    users,
    setBundle: (next) => (bundle = next),
    log,
  });
  const commandSubs = serveApplianceCommands(nc, {
    revoker,
    signer: createSigner(applianceIdentity),
    trust: liveTrust,
    events: store,
    log,
  });
  cleanups.push(() => Promise.resolve(commandSubs.forEach((s) => s.unsubscribe())));

  // 4. Runtime info, so every other process finds this bus.
  const httpPorts: Record<string, number> = {};
  for (const d of options.services ?? SERVICE_DEFINITIONS)
    if (d.port !== undefined) httpPorts[d.name] = d.port + (options.portOffset ?? 0);
  const info: RuntimeInfo = {
    pid: process.pid,
    natsUrl,
    startedAt: now.toISOString(),
    stateDir,
    httpPorts,
    ...(natsWebsocketUrl ? { natsWebsocketUrl } : {}),
  };
  await writeFileAtomic(runtimeInfoPath(stateDir), `${JSON.stringify(info, null, 2)}\n`, 0o600);
  cleanups.push(() => rm(runtimeInfoPath(stateDir), { force: true }));

  await store.appendServiceEvent({
    type: 'service.started',
    aggregateId: APPLIANCE,
    data: {
      service: APPLIANCE,
      version: '0.1.0',
      pid: process.pid,
      configDigest: `sha256:${sha256Hex(canonicalJson({ natsUrl, portOffset: options.portOffset ?? 0, services: (options.services ?? SERVICE_DEFINITIONS).map((d) => d.name) }))}`,
    },
  });

  // 5. Services, in dependency order, each waiting for its own service.started.
  const supervisor = new Supervisor(
    stateDir,
    {
      onGaveUp: (name, restartsInWindow, lastExit) => {
        log.error(
          { service: name, restartsInWindow, lastExit },
          'service failed: restart limit reached',
        );
        void store
          .append(
            [
              {
                type: 'service.failed',
                aggregateId: name,
                data: {
                  service: name as never,
                  restartsInWindow,
                  windowSeconds: Math.max(
                    1,
                    Math.round((options.restartPolicy ?? DEFAULT_RESTART_POLICY).windowMs / 1000),
                  ),
                  lastExitCode: lastExit?.code ?? null,
                  lastSignal: lastExit?.signal ?? null,
                },
              },
            ],
            { expectedSequence: 'any' },
          )
          .catch((err: unknown) => log.error({ err }, 'could not record service.failed'));
      },
      onExit: (name, exit, willRestart) =>
        log.warn({ service: name, exit, willRestart }, 'service exited'),
    },
    options.restartPolicy,
  );
  const ready = new Map<string, () => void>();
  const readySub = nc.subscribe('secai.evt.service.*', {
    callback: (_err, msg) => {
      try {
        const { event, signer } = verifyEnvelope(msg.data, trust, { natsSubject: msg.subject });
        if (event.type === 'service.started') {
          supervisor.markRunning(signer.service);
          ready.get(signer.service)?.();
        }
      } catch {
        // Refused envelopes are the consumers' business; readiness only trusts verified ones.
      }
    },
  });
  cleanups.push(() => Promise.resolve(readySub.unsubscribe()));
  cleanups.push(() => supervisor.stopAll());

  let attestation: AttestationGate | null = null;
  for (const def of startOrder(options.services ?? SERVICE_DEFINITIONS)) {
    const port = def.port === undefined ? undefined : def.port + (options.portOffset ?? 0);
    const started = new Promise<void>((resolve) => ready.set(def.name, resolve));
    await supervisor.start({
      name: def.name,
      entry: resolveEntry(def),
      port,
      env: serviceEnv(def.name, stateDir, natsUrl, port, natsWebsocketUrl),
    });
    const timeout = options.readyTimeoutMs ?? 30_000;
    const ok = await Promise.race([
      started.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), timeout).unref()),
    ]);
    if (!ok)
      throw new ApplianceError(
        'SERVICE_START_FAILED',
        `${def.name} did not report service.started within ${timeout} ms (see ${join(stateDir, 'logs', `${def.name}.log`)})`,
      );
    log.info({ service: def.name, port }, 'service running');
    if (def.name === 'runtime-attestor' && port !== undefined) {
      // The gate (ARCHITECTURE §5.5): nothing else starts before the host has been attested.
      attestation = await checkAttestation(port, createSigner(applianceIdentity), {
        now: () => new Date(),
      });
      if (attestation.satisfied) {
        log.info(
          { mode: attestation.mode, event: attestation.lastEventId },
          'attestation satisfies policy',
        );
      } else if (options.requireAttestation) {
        throw new ApplianceError(
          'ATTESTATION_UNSATISFIED',
          `attestation does not satisfy policy (${attestation.mode ?? 'no result'}): ${attestation.reasons.join('; ') || 'no reason given'}`,
        );
      } else if (attestation.development) {
        // The chosen state of a machine without a TPM: said once, plainly. The attestor recorded
        // it (attestation.development_mode.declared), so the incident recorder opens nothing.
        log.info(
          { mode: attestation.mode, event: attestation.lastEventId },
          describeAttestation(attestation),
        );
      } else {
        // A real failure is not development mode: the recorder opens an incident for it.
        log.error(
          { mode: attestation.mode, reasons: attestation.reasons, event: attestation.lastEventId },
          describeAttestation(attestation),
        );
      }
    }
  }
  if (!(options.services ?? SERVICE_DEFINITIONS).some((d) => d.name === 'runtime-attestor'))
    log.warn('no runtime attestor configured: running unattested (development mode)');

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shutdownPromise ??= (async () => {
      const up = busUp();
      log.info({ reason, bus: up ? 'up' : 'down' }, 'shutting down');
      if (up) {
        await supervisor.stopAll();
        await store
          .appendServiceEvent({
            type: 'service.stopped',
            aggregateId: APPLIANCE,
            data: { service: APPLIANCE, pid: process.pid, reason: reason.slice(0, 256) },
          })
          .catch(() => undefined);
      } else {
        // Nothing can be recorded on a dead bus, and a service that tries waits for its
        // timeouts: stop them all at once, with a short grace.
        await supervisor.stopAll(DEAD_BUS_GRACE_MS, { parallel: true });
      }
      await unwind();
      log.info('stopped');
    })();
    return shutdownPromise;
  };
  // The bus gave up: everything stops (nothing works without it) and the caller hears why.
  const failed = failure.then(async (error) => {
    log.error({ code: error.code }, `${error.message}: stopping the appliance`);
    await shutdown(error.message);
    return error;
  });
  return {
    natsUrl,
    natsWebsocketUrl,
    firstBoot: identities.created,
    status: () => supervisor.status(),
    bus: () => bus?.status() ?? null,
    failure: failed,
    attestation,
    shutdown,
  };
}

async function recordIssued(store: EventStore, issued: ServiceIdentity): Promise<void> {
  await store.append(
    [
      {
        type: 'identity.issued',
        aggregateId: issued.service,
        data: {
          service: issued.service as never,
          keyid: issued.keyid,
          certificate: issued.certificatePem,
          notAfter: issued.notAfter.toISOString(),
        },
      },
    ],
    { expectedSequence: 'any' },
  );
}

/** A service sees only what it needs: where its state is, the bus, its port. */
function serviceEnv(
  name: string,
  stateDir: string,
  natsUrl: string,
  port: number | undefined,
  natsWebsocketUrl: string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {
    SECAI_SERVICE: name,
    SECAI_STATE_DIR: stateDir,
    SECAI_NATS_URL: natsUrl,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_ENV: process.env.NODE_ENV ?? 'production',
  };
  if (port !== undefined) env.SECAI_HTTP_PORT = String(port);
  // The UI hands the browser the websocket URL (after login) and names it in its CSP.
  if (name === 'ui' && natsWebsocketUrl !== undefined)
    env.SECAI_NATS_WEBSOCKET_URL = natsWebsocketUrl;
  for (const key of ['SECAI_LOG_LEVEL', 'SECAI_SEAL_EVERY_EVENTS', 'SECAI_SEAL_EVERY_MS', 'HOME']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}
