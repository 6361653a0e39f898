import type { FastifyInstance } from 'fastify';
import { registryManifestProjection, type RegistryManifestDocument } from '@secai/projections';
import {
  hostProjection,
  streamBounds,
  watchBus,
  type EventStore,
  type HostedProjection,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import { serveCommands, type ServedCommands } from './commandHandlers.js';
import { buildHttp } from './http.js';
import { IntegrityMonitor, type CheckSummary } from './monitor.js';
import type { Observer } from './observe.js';
import type { IntegritySettings } from './settings.js';

/** One identity connected to the bus (a `ServiceRuntime`, or a test appliance's client). */
export interface MonitorConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `integrity-monitor`; its trust store verifies everything read. */
  store: EventStore;
}

export interface StartMonitorOptions {
  stateDir: string;
  settings: IntegritySettings;
  log: Logger;
  /** Reads integrity.yaml again (the rebaseline ceremony); without it the settings stay. */
  reloadSettings?: () => Promise<IntegritySettings>;
  /** File-system notifications (default on). */
  watch?: boolean;
  observer?: Observer;
  /** Rebuild the registry manifest from the first event instead of its checkpoint. */
  rebuildManifest?: boolean;
  /** How long a check waits for the manifest to reach the stream's end (default 5 s). */
  manifestWaitMs?: number;
}

export interface RunningMonitor {
  monitor: IntegrityMonitor;
  manifest: HostedProjection<RegistryManifestDocument>;
  commands: ServedCommands;
  /** The gateway, not yet listening (`main` listens; tests inject). */
  http: FastifyInstance;
  /** The first full scan (run before this resolves). */
  firstScan: CheckSummary;
  stop(): Promise<void>;
}

/**
 * Wires the monitor: the registry manifest hosted from the stream (models are checked against
 * it), the monitor itself (baselines, first scan, watches, timer), its commands and gateway.
 */
export async function startIntegrityMonitor(
  conn: MonitorConnection,
  options: StartMonitorOptions,
): Promise<RunningMonitor> {
  const { log } = options;
  const manifest = await hostProjection(
    conn.nc,
    conn.js,
    conn.jsm,
    conn.store,
    registryManifestProjection,
    {
      owner: 'integrity-monitor',
      ...(options.rebuildManifest ? { rebuild: true } : {}),
      onError: (err) => log.error({ err }, 'registry manifest projection failed'),
    },
  );
  const waitMs = options.manifestWaitMs ?? 5000;
  const monitor = new IntegrityMonitor({
    events: conn.store,
    settings: options.settings,
    stateDir: options.stateDir,
    registry: {
      document: () => manifest.runner.document,
      // Up to the stream's last sequence now: every model event appended before the check.
      caughtUp: async () => {
        const { lastSeq } = await streamBounds(conn.jsm, conn.store.stream);
        await manifest.caughtUp(lastSeq, waitMs);
      },
    },
    log,
    ...(options.reloadSettings ? { reloadSettings: options.reloadSettings } : {}),
    ...(options.watch !== undefined ? { watch: options.watch } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  });
  let commands: ServedCommands | null = null;
  try {
    const firstScan = await monitor.start();
    commands = serveCommands(conn.nc, {
      monitor,
      signer: conn.store.signer,
      trust: conn.store.trust,
      events: conn.store,
      log,
    });
    // What /health reports of the bus, and what turns a scan away at once while it is down.
    const bus = watchBus(conn.nc);
    const http = buildHttp({ monitor, trust: conn.store.trust, bus, log });
    let stopped = false;
    const served = commands;
    return {
      monitor,
      manifest,
      commands: served,
      http,
      firstScan,
      async stop() {
        if (stopped) return;
        stopped = true;
        bus.stop();
        served.stop();
        await monitor.stop();
        await manifest.stop();
      },
    };
  } catch (err) {
    commands?.stop();
    await monitor.stop().catch(() => undefined);
    await manifest.stop().catch(() => undefined);
    throw err;
  }
}
