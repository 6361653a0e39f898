import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { EventData } from '@secai/contracts';
import {
  modelStoreRoot,
  registryManifestProjection,
  type RegistryManifestDocument,
} from '@secai/projections';
import {
  ActivePolicyReader,
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
import { buildHttp } from './http.js';
import { GpuHost } from './host.js';
import { InferenceClient } from './inferenceClient.js';
import { loadedModelsProjection, type LoadedModelsDocument } from './loadedModels.js';
import { ModelFileHasher } from './modelFiles.js';
import { gpuWatchSettingsOf, type PolicyRead } from './policy.js';
import { GpuWatch } from './watch.js';

/** One identity connected to the bus (a `ServiceRuntime`, or a test appliance's client). */
export interface WatchConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `gpu-integrity-watch`; its trust store verifies everything read. */
  store: EventStore;
}

export interface StartWatchOptions {
  stateDir: string;
  log: Logger;
  /** The registry's model store (default `<stateDir>/registry/store`). */
  modelStore?: string;
  /** Where `/sys` and `/dev` are read under (default `/`). */
  root?: string;
  /** nvidia-smi to run (default: looked for under the root). */
  nvidiaSmi?: string | null;
  /** The inference service (default http://127.0.0.1:8465). */
  inferenceUrl?: string;
  /** The `gpu/<host>` aggregate id (default: this machine's host name as a subject token). */
  host?: string;
  /** A cycle at start and every policy interval (default true); false: on request only. */
  autoCycle?: boolean;
  /** Rebuild the hosted projections from the first event instead of their checkpoints. */
  rebuildProjections?: boolean;
  /** How long a cycle waits for the manifest to reach the stream's end (default 5 s). */
  manifestWaitMs?: number;
}

export interface RunningWatch {
  watch: GpuWatch;
  manifest: HostedProjection<RegistryManifestDocument>;
  loaded: HostedProjection<LoadedModelsDocument>;
  /** The gateway, not yet listening (`main` listens; tests inject). */
  http: FastifyInstance;
  stop(): Promise<void>;
}

/** A host name as one subject token (`secai.evt.gpu.<host>`), as the attestor makes it. */
export function hostIdOf(name: string): string {
  const id = name
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return id || 'host';
}

/**
 * Wires the watch: the registry manifest and the models inference loaded, both hosted from the
 * stream; the active policy read from `policy/active`; the probes on the host; the gateway.
 */
export async function startGpuWatch(
  conn: WatchConnection,
  options: StartWatchOptions,
): Promise<RunningWatch> {
  const { log } = options;
  const owner = 'gpu-integrity-watch';
  const rebuild = options.rebuildProjections ? { rebuild: true } : {};
  const manifest = await hostProjection(
    conn.nc,
    conn.js,
    conn.jsm,
    conn.store,
    registryManifestProjection,
    {
      owner,
      ...rebuild,
      onError: (err) => log.error({ err }, 'registry manifest projection failed'),
    },
  );
  const waitMs = options.manifestWaitMs ?? 5000;
  const policy = new ActivePolicyReader({ ...conn, log });
  let loaded: HostedProjection<LoadedModelsDocument> | null = null;
  const watch = new GpuWatch({
    events: conn.store,
    host: options.host ?? hostIdOf(hostname()),
    gpu: new GpuHost({ root: options.root ?? '/', nvidiaSmi: options.nvidiaSmi ?? null }),
    models: new ModelFileHasher(options.modelStore ?? modelStoreRoot(options.stateDir)),
    inference: new InferenceClient({
      signer: conn.store.signer,
      ...(options.inferenceUrl ? { url: options.inferenceUrl } : {}),
    }),
    manifest: {
      document: () => manifest.runner.document,
      // Up to the stream's last sequence now: every model event appended before the cycle.
      caughtUp: async () => {
        const { lastSeq } = await streamBounds(conn.jsm, conn.store.stream);
        await manifest.caughtUp(lastSeq, waitMs);
      },
    },
    loaded: () => loaded?.runner.document ?? loadedModelsProjection.initialState(),
    settings: async (): Promise<PolicyRead> => {
      try {
        return gpuWatchSettingsOf(await policy.current());
      } catch (err) {
        log.warn({ err }, 'the active policy could not be read');
        return { ok: false, problem: 'the active policy could not be read from the bus' };
      }
    },
    log,
    ...(options.autoCycle !== undefined ? { autoCycle: options.autoCycle } : {}),
  });
  try {
    loaded = await hostProjection(conn.nc, conn.js, conn.jsm, conn.store, loadedModelsProjection, {
      owner,
      ...rebuild,
      onError: (err) => log.error({ err }, 'loaded models projection failed'),
      // A first load: capture the model's sentinel baseline if it has none.
      onApplied: ({ event }) => {
        if (event.type !== 'inference.model.loaded') return;
        const d = event.data as EventData<'inference.model.loaded'>;
        void watch.modelLoaded({
          digest: d.model,
          name: d.name,
          backend: d.backend,
          loadedAt: event.time,
          eventId: event.id,
        });
      },
    });
    await watch.start();
  } catch (err) {
    await watch.stop().catch(() => undefined);
    await loaded?.stop().catch(() => undefined);
    await manifest.stop().catch(() => undefined);
    throw err;
  }
  // What /health reports of the bus, and what turns a check or a ceremony away while it is down.
  const bus = watchBus(conn.nc);
  const http = buildHttp({ watch, trust: conn.store.trust, bus, log });
  let stopped = false;
  const hostedLoaded = loaded;
  return {
    watch,
    manifest,
    loaded: hostedLoaded,
    http,
    async stop() {
      if (stopped) return;
      stopped = true;
      bus.stop();
      await watch.stop();
      await hostedLoaded.stop();
      await manifest.stop();
    },
  };
}
