import type { FastifyInstance } from 'fastify';
import { registryManifestProjection, type RegistryManifestDocument } from '@secai/projections';
import {
  hostProjection,
  watchBus,
  type EventStore,
  type HostedProjection,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
  type RunningConsumer,
} from '@secai/streams';
import { serveCommands, type ServedCommands } from './commandHandlers.js';
import { runPromotionConsumer } from './consumer.js';
import { hexOf } from './decider.js';
import { buildHttp } from './http.js';
import { Registry, type VerificationOutcome } from './registry.js';
import { ModelStore } from './store.js';

/** One identity connected to the bus (a `ServiceRuntime`, or a test appliance's client). */
export interface RegistryConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `registry`; its trust store verifies everything read. */
  store: EventStore;
}

export interface StartRegistryOptions {
  stateDir: string;
  /** Periodic verification interval; 0 = off. */
  verifyEveryMs: number;
  log: Logger;
  /** Rebuild the manifest from the first event instead of resuming from its checkpoint. */
  rebuildManifest?: boolean;
}

export interface RunningRegistry {
  registry: Registry;
  models: ModelStore;
  manifest: HostedProjection<RegistryManifestDocument>;
  consumer: RunningConsumer;
  commands: ServedCommands;
  /** The gateway, not yet listening (`main` listens; tests inject). */
  http: FastifyInstance;
  /** One verification pass over every model in the store (what the periodic timer runs). */
  verifyAll(): Promise<VerificationOutcome[]>;
  stop(): Promise<void>;
}

/**
 * Wires the registry: store areas, the manifest projection, the promotion consumer, the
 * commands, the gateway and the periodic verification.
 */
export async function startRegistry(
  conn: RegistryConnection,
  options: StartRegistryOptions,
): Promise<RunningRegistry> {
  const { log } = options;
  const models = new ModelStore(options.stateDir);
  await models.open();
  const registry = new Registry({ events: conn.store, models, log });
  const manifest = await hostProjection(
    conn.nc,
    conn.js,
    conn.jsm,
    conn.store,
    registryManifestProjection,
    {
      owner: 'registry',
      ...(options.rebuildManifest ? { rebuild: true } : {}),
      onError: (err) => log.error({ err }, 'manifest projection failed'),
    },
  );
  const commands = serveCommands(conn.nc, {
    registry,
    signer: conn.store.signer,
    trust: conn.store.trust,
    events: conn.store,
    log,
  });
  const consumer = await runPromotionConsumer(conn.js, conn.jsm, {
    registry,
    store: conn.store,
    log,
  });
  // What /health reports of the bus, and what turns verify away at once while it is down.
  const bus = watchBus(conn.nc);
  const http = buildHttp({
    registry,
    manifest: () => ({
      document: manifest.runner.document,
      lastSeq: manifest.runner.lastSeq,
    }),
    layout: models.layout,
    trust: conn.store.trust,
    bus,
    log,
  });

  let pass: Promise<VerificationOutcome[]> | null = null;
  const verifyAll = (): Promise<VerificationOutcome[]> => {
    pass ??= (async () => {
      const outcomes: VerificationOutcome[] = [];
      // Contained models are evidence, not served: they are verified on request only.
      const targets = Object.values(manifest.runner.document.models).filter(
        (m) => m.status !== 'contained',
      );
      for (const m of targets) {
        try {
          outcomes.push(await registry.verify(hexOf(m.digest), { trigger: 'periodic' }));
        } catch (err) {
          log.error({ err, model: m.digest }, 'periodic verification failed');
        }
      }
      return outcomes;
    })().finally(() => {
      pass = null;
    });
    return pass;
  };
  const timer =
    options.verifyEveryMs > 0
      ? setInterval(() => void verifyAll(), options.verifyEveryMs).unref()
      : null;

  let stopped = false;
  return {
    registry,
    models,
    manifest,
    consumer,
    commands,
    http,
    verifyAll,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      bus.stop();
      await pass?.catch(() => undefined);
      await commands.stop();
      await consumer.stop();
      await manifest.stop();
    },
  };
}
