import type { FastifyInstance } from 'fastify';
import type { DocumentProblem } from '@secai/contracts';
import { watchBus, type BusWatch, type Logger, type Subscription } from '@secai/streams';
import { warmAttestationLedger } from './attestation.js';
import { IncidentBook, type RecorderConnection } from './book.js';
import { serveCommands } from './commandHandlers.js';
import { runObservationConsumers, warmBurstWindows } from './consumer.js';
import { ContainmentExecutor } from './containment.js';
import { exportIncident, type IncidentExport } from './export.js';
import { buildHttp } from './http.js';
import { intakeHealth, observationIntake, type ObservationIntake } from './intake.js';
import type { IncidentEvent } from './machine.js';
import { loadIncidentPolicy, readIncidentPolicy, type LoadedPolicy } from './policy/load.js';
import { IncidentRecorder } from './recorder.js';
import type { SealPolicy } from './sealer/decider.js';
import { startSealer, type Sealer } from './sealer/follower.js';
import { trustBundleOf } from './view.js';

export interface StartRecorderOptions {
  /** Directory of `incidents.yaml` (the shipped default is copied there when absent). */
  policyDir: string;
  seal: SealPolicy;
  log: Logger;
  /** Called with every incident event this process appends, as stored (tests, benchmarks). */
  onAppended?: (incidentId: string, events: IncidentEvent[]) => void;
  /** How long to wait for a target's confirming event after its answer (default 5 s). */
  confirmWithinMs?: number;
  /** `/health` is degraded above this many stored observations not yet settled (default 1000). */
  maxLag?: number;
  /** How often the lag is asked of the server (default 1000 ms). */
  lagEveryMs?: number;
}

export const DEFAULT_MAX_LAG = 1000;

export interface RunningRecorder {
  recorder: IncidentRecorder;
  book: IncidentBook;
  executor: ContainmentExecutor;
  sealer: Sealer;
  /** The observation lanes (the general durable and the priority ones). */
  consumer: ObservationIntake;
  bus: BusWatch;
  commands: Subscription[];
  /** The gateway, not yet listening (`main` listens; tests inject). */
  http: FastifyInstance;
  policy(): LoadedPolicy;
  reload(): Promise<
    { ok: true; digest: string; changed: boolean } | { ok: false; problems: DocumentProblem[] }
  >;
  exportIncident(id: string): Promise<IncidentExport>;
  /** Stops taking work; containment in flight is abandoned unrecorded and resumed on the next start. */
  stop(): Promise<void>;
}

/**
 * Wires the incident recorder: its policy, the audit chain sealer, the incidents rebuilt from the
 * stream, the containment executor (resuming what a previous run left pending), the denial-burst
 * windows, the observation consumer, the commands and the gateway.
 */
export async function startRecorder(
  conn: RecorderConnection,
  options: StartRecorderOptions,
): Promise<RunningRecorder> {
  const { log } = options;
  let loaded: LoadedPolicy = await loadIncidentPolicy(options.policyDir);
  log.info({ path: loaded.path, digest: loaded.digest }, 'incident policy loaded');
  const policy = () => loaded.policy;
  const sealer = startSealer(conn, options.seal, log);
  const book = new IncidentBook(conn, log);
  if (options.onAppended) book.onAppended(options.onAppended);
  await book.rebuild();
  const signer = conn.store.signer;
  const trust = conn.store.trust;
  const executor = new ContainmentExecutor({
    conn,
    book,
    signer,
    trust,
    policy,
    log,
    ...(options.confirmWithinMs !== undefined ? { confirmWithinMs: options.confirmWithinMs } : {}),
  });
  const recorder = new IncidentRecorder({ conn, book, executor, signer, trust, policy, log });
  await warmBurstWindows(conn, { recorder, policy: loaded.policy, log });
  await warmAttestationLedger(conn, { recorder, log });
  executor.resumeAll();
  const consumer = observationIntake(await runObservationConsumers(conn, { recorder, log }), {
    ...(options.lagEveryMs !== undefined ? { everyMs: options.lagEveryMs } : {}),
  });
  await consumer.ready;
  const bus = watchBus(conn.nc);
  const maxLag = options.maxLag ?? DEFAULT_MAX_LAG;
  const commands = serveCommands(conn.nc, {
    recorder,
    sealer,
    signer,
    trust,
    events: conn.store,
    log,
  });

  const reload: RunningRecorder['reload'] = async () => {
    const result = await readIncidentPolicy(loaded.path);
    if (!result.ok) {
      log.error({ path: loaded.path, problems: result.problems }, 'incident policy reload refused');
      return { ok: false, problems: result.problems };
    }
    const changed = result.digest !== loaded.digest;
    loaded = { policy: result.policy, digest: result.digest, path: loaded.path };
    log.info({ digest: result.digest, changed }, 'incident policy reloaded');
    return { ok: true, digest: result.digest, changed };
  };
  const doExport = (id: string) =>
    exportIncident({ conn, book, sealer, trustBundle: () => trustBundleOf(trust), log }, id);
  const http = buildHttp({
    bus,
    book,
    recorder,
    policy: () => loaded,
    reload,
    exportIncident: doExport,
    chain: () => {
      const s = sealer.status();
      return {
        lastSeq: s.lastSeq,
        sealedToSeq: s.sealedToSeq,
        head: s.head,
        mismatches: s.mismatches,
        ok: s.mismatches === 0 && s.lastError === null,
      };
    },
    intake: () => {
      const lag = consumer.lag();
      const health = bus.health();
      return { lag, maxLag, bus: health, ...intakeHealth(lag, maxLag, health) };
    },
    trust,
    log,
  });

  let stopped = false;
  return {
    recorder,
    book,
    executor,
    sealer,
    consumer,
    bus,
    commands,
    http,
    policy: () => loaded,
    reload,
    exportIncident: doExport,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of commands) s.unsubscribe();
      await consumer.stop();
      bus.stop();
      await executor.stop();
      await sealer.stop();
    },
  };
}
