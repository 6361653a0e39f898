import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  modelStoreRoot,
  registryManifestProjection,
  type RegistryManifestDocument,
} from '@secai/projections';
import {
  ActivePolicyReader,
  hostProjection,
  watchBus,
  type EventStore,
  type HostedProjection,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
} from '@secai/streams';
import { Admission } from './admission.js';
import { createEngine } from './engine/index.js';
import type { Engine } from './engine/types.js';
import { InferenceError } from './errors.js';
import { Generator } from './generation.js';
import { buildHttp } from './http.js';
import { apiKeysProjection, KeyIndex, type KeysDocument } from './keys.js';
import { ModelHost, type UnloadReason } from './modelHost.js';
import { Sessions } from './sessions.js';
import { settingsOf, type InferenceSettings } from './settings.js';

export interface InferenceConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Signs as `inference`. */
  store: EventStore;
}

export interface StartInferenceOptions {
  stateDir: string;
  log: Logger;
  /** How often idle sessions are swept; 0 = never (tests sweep by hand). */
  sweepEveryMs?: number;
}

export interface RunningInference {
  engine: Engine;
  host: ModelHost;
  sessions: Sessions;
  manifest: HostedProjection<RegistryManifestDocument>;
  keys: HostedProjection<KeysDocument>;
  http: FastifyInstance;
  /** The settings of the active policy now (throws `POLICY_UNAVAILABLE`). */
  settings(): Promise<InferenceSettings>;
  stop(): Promise<void>;
}

const UNLOAD_ON: Readonly<Record<string, UnloadReason>> = {
  'model.contained': 'contained',
  'model.removed': 'removed',
  'model.verification.failed': 'verification_failed',
};

/**
 * Wires inference: the active policy (its limits; none = nothing served), the engine, the
 * registry's manifest (the only source of servable models; a containment unloads at once), the
 * API keys, sessions, and the OpenAI-compatible gateway.
 */
export async function startInference(
  conn: InferenceConnection,
  options: StartInferenceOptions,
): Promise<RunningInference> {
  const { log } = options;
  const policy = new ActivePolicyReader({ js: conn.js, jsm: conn.jsm, store: conn.store, log });
  let lastSettings: InferenceSettings | null = null;
  // Limits follow the policy: each read of the settings sets them (none until a policy is active).
  const admission = new Admission({ slots: 1, queueLength: 0 });
  const settings = async (): Promise<InferenceSettings> => {
    const read = settingsOf(await policy.current());
    if (!read.ok) {
      lastSettings = null;
      throw new InferenceError(
        'POLICY_UNAVAILABLE',
        `inference serves nothing: ${read.problem}`,
        5,
      );
    }
    lastSettings = read.settings;
    admission.setLimits({
      slots: read.settings.maxSessions,
      queueLength: read.settings.queueLength,
    });
    return read.settings;
  };
  // The engine's backend and threads are fixed at start (a GPU backend cannot be swapped live).
  const initial = await settings().catch(() => null);
  const engine = await createEngine({
    gpu: initial?.gpu ?? 'auto',
    threads: initial?.threads ?? 2,
    onFallback: (message) => log.warn({ asked: initial?.gpu ?? 'auto' }, message),
  });
  const sessions = new Sessions({ store: conn.store, log, backend: () => engine.backend });
  const storeRoot = modelStoreRoot(options.stateDir);
  const host = new ModelHost({
    engine,
    store: conn.store,
    nc: conn.nc,
    log,
    pathOf: (m) => join(storeRoot, m.storePath),
    closeSessionsOf: (digest) => sessions.closeModel(digest),
  });
  const manifest = await hostProjection(
    conn.nc,
    conn.js,
    conn.jsm,
    conn.store,
    registryManifestProjection,
    {
      owner: 'inference',
      onError: (err) => log.error({ err }, 'manifest projection failed'),
      onApplied: ({ event }) => {
        const reason = UNLOAD_ON[event.type];
        const hex = event.subject.slice('model/'.length);
        if (reason) void host.unload(`sha256:${hex}`, reason, event.id);
        else if (event.type === 'model.verified') host.forgetRefusal(`sha256:${hex}`);
      },
    },
  );
  const keys = await hostProjection(conn.nc, conn.js, conn.jsm, conn.store, apiKeysProjection, {
    owner: 'inference',
    onError: (err) => log.error({ err }, 'keys projection failed'),
  });
  const keyIndex = new KeyIndex(() => keys.runner.document);
  const bus = watchBus(conn.nc);
  const generator = new Generator({
    manifest: () => manifest.runner.document,
    settings,
    admission,
    host,
    sessions,
    store: conn.store,
    log,
    backend: () => engine.backend,
  });
  const http = buildHttp({
    engine,
    manifest: () => manifest.runner.document,
    settings,
    hasPolicy: () => lastSettings !== null,
    generator,
    host,
    sessions,
    admission,
    keys,
    keyCaller: (key) => keyIndex.callerOf(key),
    store: conn.store,
    trust: conn.store.trust,
    bus,
    log,
  });
  const sweepEvery = options.sweepEveryMs ?? 30_000;
  const sweeper =
    sweepEvery > 0
      ? setInterval(() => {
          if (lastSettings) void sessions.sweep(lastSettings.sessionIdleMs);
        }, sweepEvery).unref()
      : null;

  let stopped = false;
  return {
    engine,
    host,
    sessions,
    manifest,
    keys,
    http,
    settings,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (sweeper) clearInterval(sweeper);
      bus.stop();
      await sessions.closeAll();
      await host.unloadAll('shutdown');
      await keys.stop();
      await manifest.stop();
      await engine.dispose();
    },
  };
}
