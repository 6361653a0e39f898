import { performance } from 'node:perf_hooks';
import type { EventData, GpuProbeName, ProbeResultData } from '@secai/contracts';
import type { ManifestEntry, RegistryManifestDocument } from '@secai/projections';
import {
  CommandHandler,
  type AggregateState,
  type EventStore,
  type HandledCommand,
  type LoadedEvent,
  type Logger,
} from '@secai/streams';
import { anomaliesOf, anomalyKey, type Anomaly } from './anomalies.js';
import { AUTO_OPERATOR, hexOf, tensorBaseline, type BaselineCaptured } from './baseline.js';
import {
  gpuDecider,
  type GpuCommand,
  type GpuEvent,
  type GpuRecorded,
  type GpuRefusalCode,
  type GpuState,
  type ScoreEntry,
} from './decider.js';
import { GpuWatchError } from './errors.js';
import type { GpuHost } from './host.js';
import type { InferenceClient } from './inferenceClient.js';
import type { LoadedModelEntry, LoadedModelsDocument } from './loadedModels.js';
import { modelsInStore, type ModelFileHasher } from './modelFiles.js';
import type { GpuWatchSettings, PolicyRead } from './policy.js';
import { judgeDevices } from './probes/devices.js';
import { judgeDriver, type DriverFingerprint } from './probes/driver.js';
import { ECC_QUERY_ARGS, judgeEcc } from './probes/ecc.js';
import { judgeReferenceDrift, judgeSentinel } from './probes/sentinel.js';
import { judgeTensorHash } from './probes/tensorHash.js';
import type { ProbeJudgement } from './probes/types.js';
import { trendOf, type GpuVerdictName } from './scoring.js';
import {
  REFERENCE_ITERATIONS,
  SENTINEL_PROMPT,
  referenceOf,
  runSentinels,
  sentinelTargets,
} from './sentinels.js';

// The watch: cycles (probes → `gpu.probe.completed`, new anomalies → `gpu.anomaly.detected`),
// first-load captures and the baseline ceremony, one at a time, on the `gpu/<host>` aggregate
// through the command kernel. Its memory is that aggregate's fold, kept in step with each append.

/** How often a watch without a valid policy asks again whether one is active. */
export const POLICY_RETRY_MS = 15_000;

export type CycleTrigger = 'startup' | 'periodic' | 'request';

export interface GpuWatchDeps {
  /** Signs as `gpu-integrity-watch`. */
  events: EventStore;
  host: string;
  gpu: GpuHost;
  models: ModelFileHasher;
  inference: Pick<InferenceClient, 'sentinel'>;
  /** The registry's manifest, hosted from the stream. */
  manifest: { document: () => RegistryManifestDocument; caughtUp: () => Promise<void> };
  loaded: () => LoadedModelsDocument;
  /** The watch's reading of the engine's active policy now. */
  settings: () => Promise<PolicyRead>;
  log: Logger;
  /** A cycle at start and then every policy interval (default true); false: on request only. */
  autoCycle?: boolean;
}

export interface CycleReport {
  cycle: number;
  trigger: CycleTrigger;
  eventId: string;
  at: string;
  verdict: GpuVerdictName;
  composite: number;
  probes: ProbeResultData[];
  /** The anomalies this cycle recorded. */
  reported: EventData<'gpu.anomaly.detected'>[];
  /** Anomalies that hold but an earlier cycle reported (not repeated). */
  ongoing: number;
}

export interface CeremonyReport {
  eventId: string;
  capturedAt: string;
  operator: string;
  tensorHashes: number;
  sentinels: { model: string; tokens: number }[];
  /** Models not loaded in inference: their earlier sentinel (if any) stays. */
  notLoaded: string[];
  /** Models left out of this baseline, and why. */
  skipped: { model: string; reason: string }[];
  driver: DriverFingerprint | null;
  devices: string[];
}

export interface AnomalyView extends Anomaly {
  /** An event records it (false after a new baseline, until the next cycle reports it). */
  reported: boolean;
}

export interface PolicyView {
  active: boolean;
  digest: string | null;
  problem: string | null;
  intervalSeconds: number | null;
  disabledProbes: GpuProbeName[];
}

export interface WatchStatus {
  host: string;
  verdict: GpuVerdictName | 'unknown';
  composite: number | null;
  cycle: number;
  lastCycleAt: string | null;
  probes: ProbeResultData[];
  trend: number;
  anomalies: AnomalyView[];
  anomaliesReported: number;
  baseline: {
    eventId: string;
    capturedAt: string;
    operator: string;
    reason: string;
    sentinels: number;
    tensorHashes: number;
    host: { capturedAt: string; driver: DriverFingerprint | null; devices: string[] } | null;
  } | null;
  policy: PolicyView;
  nextCycleAt: string | null;
}

export interface AttestState {
  host: string;
  at: string | null;
  cycle: number;
  verdict: GpuVerdictName | 'unknown';
  composite: number | null;
  probeStatuses: ScoreEntry['probeStatuses'];
  probeScores: ScoreEntry['probeScores'];
  driverVersion: string | null;
  deviceNodes: string[] | null;
  trend: number;
  baselineEventId: string | null;
  policyDigest: string | null;
}

const GPU_TYPES: readonly string[] = [
  'gpu.baseline.captured',
  'gpu.probe.completed',
  'gpu.anomaly.detected',
];

function fromStored(l: LoadedEvent): GpuRecorded | null {
  if (!GPU_TYPES.includes(l.event.type)) return null;
  return {
    type: l.event.type,
    data: l.event.data,
    id: l.event.id,
    time: l.event.time,
  } as GpuRecorded;
}

const clip = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

export class GpuWatch {
  readonly host: string;
  readonly #deps: GpuWatchDeps;
  readonly #log: Logger;
  readonly #handler: CommandHandler<
    GpuCommand,
    GpuEvent,
    GpuState,
    never,
    GpuRecorded,
    GpuRefusalCode
  >;
  #state: AggregateState<GpuState> | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #inflight: Promise<CycleReport> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #nextCycleAt: Date | null = null;
  #stopped = false;
  #policy: PolicyRead = { ok: false, problem: 'not read yet' };
  #lastDriver: DriverFingerprint | null | undefined = undefined;
  #lastDevices: string[] | undefined = undefined;

  constructor(deps: GpuWatchDeps) {
    this.#deps = deps;
    this.host = deps.host;
    this.#log = deps.log;
    this.#handler = new CommandHandler({
      store: deps.events,
      aggregateType: 'gpu',
      decider: gpuDecider,
      fromStored,
      toDraft: (e, id) => ({ type: e.type, aggregateId: id, data: e.data }),
      readBack: true,
      log: deps.log,
    });
  }

  /** Folds the aggregate, reads the policy, captures what loaded models lack, starts the timer. */
  async start(): Promise<void> {
    this.#state = await this.#handler.load(this.host);
    const read = await this.#readPolicy();
    if (!read.ok)
      this.#log.warn(
        { problem: read.problem },
        'no valid policy: no cycle runs until one is active',
      );
    if (this.#deps.autoCycle ?? true) this.#schedule(0, 'startup');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#queue.catch(() => undefined);
  }

  /** One cycle now; a request during a running cycle gets that cycle's report. */
  cycle(trigger: CycleTrigger = 'request'): Promise<CycleReport> {
    if (this.#stopped)
      return Promise.reject(new GpuWatchError('WATCH_STOPPED', 'the watch is stopping'));
    this.#inflight ??= this.#serial(() => this.#runCycle(trigger)).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  /** A model inference just loaded: its sentinel baseline, if it has none yet. */
  modelLoaded(entry: LoadedModelEntry): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return this.#serial(async () => {
      const read = await this.#readPolicy();
      if (!read.ok) return;
      await this.#captureFirstLoad(entry, read.settings);
    }).catch((err: unknown) =>
      this.#log.error({ err, model: entry.digest }, 'first-load capture failed'),
    );
  }

  /** The operator ceremony: a new baseline of everything the watch compares. */
  ceremony(input: { operator: string; reason: string }): Promise<CeremonyReport> {
    if (this.#stopped)
      return Promise.reject(new GpuWatchError('WATCH_STOPPED', 'the watch is stopping'));
    return this.#serial(() => this.#runCeremony(input));
  }

  /** The aggregate's state as last folded. */
  get state(): GpuState {
    return this.#current();
  }

  status(): WatchStatus {
    const s = this.#current();
    const latest = s.latest;
    const reported = new Set(s.reported);
    const b = s.baseline;
    return {
      host: this.host,
      verdict: latest?.verdict ?? 'unknown',
      composite: latest?.composite ?? null,
      cycle: s.cycle,
      lastCycleAt: latest?.at ?? null,
      probes: latest?.probes ?? [],
      trend: trendOf(s.history.map((h) => h.composite)),
      anomalies: latest
        ? anomaliesOf(latest.probes, latest.verdict).map((a) => ({
            ...a,
            reported: reported.has(anomalyKey(a)),
          }))
        : [],
      anomaliesReported: s.anomaliesReported,
      baseline: b.last
        ? {
            eventId: b.last.eventId,
            capturedAt: b.last.at,
            operator: b.last.operator,
            reason: b.last.reason,
            sentinels: Object.keys(b.sentinels).length,
            tensorHashes: Object.keys(b.tensorHashes).length,
            host: b.host
              ? { capturedAt: b.host.at, driver: b.host.driver, devices: b.host.devices }
              : null,
          }
        : null,
      policy: this.policyView(),
      nextCycleAt: this.#nextCycleAt?.toISOString() ?? null,
    };
  }

  /** The last `limit` cycles, oldest first. */
  history(limit = 100): ScoreEntry[] {
    return this.#current().history.slice(-Math.max(0, limit));
  }

  attestState(): AttestState {
    const s = this.#current();
    const last = s.history.at(-1);
    return {
      host: this.host,
      at: last?.at ?? null,
      cycle: s.cycle,
      verdict: last?.verdict ?? 'unknown',
      composite: last?.composite ?? null,
      probeStatuses: last?.probeStatuses ?? {},
      probeScores: last?.probeScores ?? {},
      driverVersion: this.#lastDriver?.version ?? null,
      deviceNodes: this.#lastDevices ?? null,
      trend: trendOf(s.history.map((h) => h.composite)),
      baselineEventId: s.baseline.last?.eventId ?? null,
      policyDigest: this.#policy.ok ? this.#policy.settings.policyDigest : null,
    };
  }

  policyView(): PolicyView {
    const p = this.#policy;
    return p.ok
      ? {
          active: true,
          digest: p.settings.policyDigest,
          problem: null,
          intervalSeconds: p.settings.intervalMs / 1000,
          disabledProbes: [...p.settings.disabled],
        }
      : {
          active: false,
          digest: null,
          problem: p.problem,
          intervalSeconds: null,
          disabledProbes: [],
        };
  }

  // ---- internals --------------------------------------------------------------------------

  #current(): GpuState {
    return this.#state?.state ?? gpuDecider.initialState();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.catch(() => undefined).then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #readPolicy(): Promise<PolicyRead> {
    const read = await this.#deps.settings();
    const was = this.#policy;
    this.#policy = read;
    if (read.ok && (!was.ok || was.settings.policyDigest !== read.settings.policyDigest))
      this.#log.info({ policyDigest: read.settings.policyDigest }, 'gpu_watch policy bound');
    if (!read.ok && was.ok)
      this.#log.error({ problem: read.problem }, 'policy refused: cycles stop');
    return read;
  }

  #schedule(ms: number, trigger: CycleTrigger): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#nextCycleAt = new Date(Date.now() + ms);
    this.#timer = setTimeout(() => void this.#tick(trigger), ms);
    this.#timer.unref();
  }

  async #tick(trigger: CycleTrigger): Promise<void> {
    this.#timer = null;
    try {
      await this.cycle(trigger);
    } catch (err) {
      if (err instanceof GpuWatchError && err.code === 'POLICY_UNAVAILABLE')
        this.#log.debug({ problem: err.message }, 'no cycle without a policy');
      else if (!(err instanceof GpuWatchError && err.code === 'WATCH_STOPPED'))
        this.#log.error({ err }, 'GPU integrity cycle failed');
    }
    const p = this.#policy;
    this.#schedule(
      p.ok ? p.settings.intervalMs : POLICY_RETRY_MS,
      trigger === 'startup' && !p.ok ? 'startup' : 'periodic',
    );
  }

  async #handle(
    command: GpuCommand,
    causationId?: string,
  ): Promise<HandledCommand<GpuEvent, GpuState, never, GpuRecorded, GpuRefusalCode>> {
    try {
      const result = await this.#handler.handle(this.host, command, {
        ...(this.#state ? { known: this.#state } : {}),
        ...(causationId !== undefined ? { meta: { causationId } } : {}),
      });
      this.#state = { state: result.state, lastSequence: result.lastSequence };
      return result;
    } catch (err) {
      // What is known may be behind what was stored: read it again next time.
      this.#state = null;
      throw err;
    }
  }

  async #manifest(): Promise<RegistryManifestDocument> {
    try {
      await this.#deps.manifest.caughtUp();
    } catch (err) {
      this.#log.warn({ err }, 'registry manifest has not caught up; using what it has');
    }
    return this.#deps.manifest.document();
  }

  async #ensureState(): Promise<GpuState> {
    this.#state ??= await this.#handler.load(this.host);
    return this.#state.state;
  }

  async #runCycle(trigger: CycleTrigger): Promise<CycleReport> {
    const read = await this.#readPolicy();
    if (!read.ok) throw new GpuWatchError('POLICY_UNAVAILABLE', read.problem);
    const settings = read.settings;
    await this.#ensureState();
    await this.#captureMissing(settings);
    const doc = await this.#manifest();
    const baseline = (await this.#ensureState()).baseline;
    const on = (p: ProbeResultData['probe']) => !settings.disabled.includes(p);
    const results: ProbeResultData[] = [];
    const timed = async (fn: () => Promise<ProbeJudgement>): Promise<void> => {
      const t0 = performance.now();
      const j = await fn();
      results.push({ ...j, durationMs: Math.round(performance.now() - t0) });
    };

    if (on('tensor_hash'))
      await timed(async () =>
        judgeTensorHash(await this.#deps.models.observeAll(doc), tensorBaseline(baseline)),
      );
    if (on('sentinel_inference') || on('reference_drift')) {
      const targets = sentinelTargets(baseline, doc).map((t) => t.target);
      const t0 = performance.now();
      const first = await runSentinels(this.#deps.inference, targets, 1);
      const firstMs = Math.round(performance.now() - t0);
      if (on('sentinel_inference')) results.push({ ...judgeSentinel(first), durationMs: firstMs });
      if (on('reference_drift')) {
        const t1 = performance.now();
        const all = await runSentinels(this.#deps.inference, first, REFERENCE_ITERATIONS - 1);
        const extraMs = Math.round(performance.now() - t1);
        results.push({
          ...judgeReferenceDrift(all),
          durationMs: extraMs + (on('sentinel_inference') ? 0 : firstMs),
        });
      }
    }
    if (on('ecc_status'))
      await timed(async () => judgeEcc(await this.#deps.gpu.nvidiaSmi(ECC_QUERY_ARGS)));
    if (on('driver_fingerprint'))
      await timed(async () => {
        const driver = await this.#deps.gpu.driver();
        this.#lastDriver = driver;
        return judgeDriver(driver, baseline.host ? { driver: baseline.host.driver } : null);
      });
    if (on('device_allowlist'))
      await timed(async () => {
        const nodes = await this.#deps.gpu.deviceNodes();
        this.#lastDevices = nodes;
        return judgeDevices(nodes, {
          allowlist: settings.deviceAllowlist,
          baseline: baseline.host?.devices ?? null,
        });
      });

    const handled = await this.#handle({
      type: 'RecordCycle',
      host: this.host,
      probes: results,
      weights: settings.weights,
    });
    const completed = handled.recorded.find((e) => e.type === 'gpu.probe.completed');
    if (completed?.type !== 'gpu.probe.completed') throw new Error('the cycle was not recorded');
    const reported = handled.recorded.flatMap((e) =>
      e.type === 'gpu.anomaly.detected' ? [e.data] : [],
    );
    const holding = anomaliesOf(completed.data.probes, completed.data.verdict).length;
    const report: CycleReport = {
      cycle: completed.data.cycle,
      trigger,
      eventId: completed.id,
      at: completed.time,
      verdict: completed.data.verdict,
      composite: completed.data.composite,
      probes: completed.data.probes,
      reported,
      ongoing: holding - reported.length,
    };
    const level = report.verdict === 'healthy' ? 'info' : 'warn';
    this.#log[level](
      {
        cycle: report.cycle,
        trigger,
        verdict: report.verdict,
        composite: report.composite,
        anomalies: reported.map((a) => `${a.kind}${a.model ? ` ${a.model}` : ''}`),
        ongoing: report.ongoing,
      },
      'GPU integrity cycle',
    );
    return report;
  }

  /** Loaded models without a sentinel baseline (a capture that could not be made at load). */
  async #captureMissing(settings: GpuWatchSettings): Promise<void> {
    const have = (await this.#ensureState()).baseline.sentinels;
    for (const entry of Object.values(this.#deps.loaded().loaded)) {
      if (Object.hasOwn(have, hexOf(entry.digest))) continue;
      try {
        await this.#captureFirstLoad(entry, settings);
      } catch (err) {
        this.#log.error({ err, model: entry.digest }, 'first-load capture failed');
      }
    }
  }

  async #captureFirstLoad(entry: LoadedModelEntry, settings: GpuWatchSettings): Promise<void> {
    const hex = hexOf(entry.digest);
    if (Object.hasOwn((await this.#ensureState()).baseline.sentinels, hex)) return;
    const doc = await this.#manifest();
    const m = Object.hasOwn(doc.models, hex) ? doc.models[hex] : undefined;
    if (m?.status !== 'available') {
      this.#log.info(
        { model: entry.digest },
        'not captured: the registry does not list it as available',
      );
      return;
    }
    const file = await this.#deps.models.observe(m);
    // Never baseline a file that is not the registry's: tensor_hash reports it instead.
    if (file.actual.kind !== 'hashed' || file.actual.digest !== m.digest) {
      this.#log.warn(
        { model: m.digest, actual: file.actual },
        'not captured: the file does not match its digest',
      );
      return;
    }
    const reply = await this.#deps.inference.sentinel(
      m.digest,
      SENTINEL_PROMPT,
      settings.sentinelMaxTokens,
    );
    if (reply.kind !== 'answer') {
      this.#log.info(
        { model: m.digest, reply: reply.kind },
        'not captured yet: no sentinel answer',
      );
      return;
    }
    const data: BaselineCaptured = {
      host: this.host,
      operator: AUTO_OPERATOR,
      reason: clip(`first load of ${m.digest} (${m.name})`, 512),
      tensorHashes: [{ path: m.storePath, digest: file.actual.digest }],
      sentinels: [referenceOf(reply.answer)],
      driver: null,
      devices: [],
    };
    const handled = await this.#handle(
      { type: 'CaptureBaseline', trigger: 'first_load', data },
      entry.eventId,
    );
    if (handled.appended)
      this.#log.info(
        { model: m.digest, tokens: reply.answer.tokens.length },
        'sentinel baseline captured at first load',
      );
  }

  async #runCeremony(input: { operator: string; reason: string }): Promise<CeremonyReport> {
    if (input.operator.trim() === AUTO_OPERATOR)
      throw new GpuWatchError(
        'OPERATOR_RESERVED',
        `${AUTO_OPERATOR} is reserved for first-load captures`,
      );
    const read = await this.#readPolicy();
    if (!read.ok) throw new GpuWatchError('POLICY_UNAVAILABLE', read.problem);
    await this.#ensureState();
    const doc = await this.#manifest();
    const tensorHashes: BaselineCaptured['tensorHashes'] = [];
    const sentinels: BaselineCaptured['sentinels'] = [];
    const notLoaded: string[] = [];
    const skipped: { model: string; reason: string }[] = [];
    for (const m of modelsInStore(doc) satisfies ManifestEntry[]) {
      const file = await this.#deps.models.observe(m);
      if (file.actual.kind !== 'hashed' || file.actual.digest !== m.digest) {
        skipped.push({
          model: m.digest,
          reason:
            file.actual.kind === 'hashed'
              ? "the file does not match the registry's digest"
              : `file ${file.actual.kind}`,
        });
        continue;
      }
      if (tensorHashes.length >= 1024) {
        skipped.push({ model: m.digest, reason: 'baseline full (1024 files)' });
        continue;
      }
      tensorHashes.push({ path: m.storePath, digest: m.digest });
      if (m.status !== 'available') continue;
      const reply = await this.#deps.inference.sentinel(
        m.digest,
        SENTINEL_PROMPT,
        read.settings.sentinelMaxTokens,
      );
      if (reply.kind === 'answer') {
        if (sentinels.length < 64) sentinels.push(referenceOf(reply.answer));
        else skipped.push({ model: m.digest, reason: 'baseline full (64 sentinels)' });
      } else if (reply.kind === 'not_loaded') notLoaded.push(m.digest);
      else
        skipped.push({
          model: m.digest,
          reason: reply.kind === 'unknown' ? 'inference does not serve it' : reply.message,
        });
    }
    const driver = await this.#deps.gpu.driver();
    const devices = (await this.#deps.gpu.deviceNodes()).slice(0, 256);
    this.#lastDriver = driver;
    this.#lastDevices = devices;
    const handled = await this.#handle({
      type: 'CaptureBaseline',
      trigger: 'ceremony',
      data: {
        host: this.host,
        operator: input.operator,
        reason: input.reason,
        tensorHashes,
        sentinels,
        driver,
        devices,
      },
    });
    const refusal = handled.decision.refusal;
    if (refusal) throw new GpuWatchError('OPERATOR_RESERVED', refusal.message);
    const captured = handled.recorded[0]!;
    this.#log.info(
      {
        operator: input.operator,
        tensorHashes: tensorHashes.length,
        sentinels: sentinels.length,
        skipped: skipped.length,
      },
      'GPU baseline captured (ceremony)',
    );
    return {
      eventId: captured.id,
      capturedAt: captured.time,
      operator: input.operator,
      tensorHashes: tensorHashes.length,
      sentinels: sentinels.map((r) => ({ model: r.model, tokens: r.tokens.length })),
      notLoaded,
      skipped,
      driver,
      devices,
    };
  }
}
