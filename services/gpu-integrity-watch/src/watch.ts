import type { EventData, ProbeResultData } from '@secai/contracts';
import type { RegistryManifestDocument } from '@secai/projections';
import {
  CommandHandler,
  type AggregateState,
  type EventStore,
  type HandledCommand,
  type LoadedEvent,
  type Logger,
} from '@secai/streams';
import { anomaliesOf } from './anomalies.js';
import { AUTO_OPERATOR, hexOf } from './baseline.js';
import { ceremonyCapture, firstLoadCapture } from './captures.js';
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
import type { LoadedModelEntry, LoadedModelsDocument } from './loadedModels.js';
import type { GpuWatchSettings, PolicyRead } from './policy.js';
import { runProbes, type ProbeDeps } from './probeRun.js';
import type { DriverFingerprint } from './probes/driver.js';
import type { GpuVerdictName } from './scoring.js';
import {
  attestStateOf,
  policyViewOf,
  statusOf,
  type AttestState,
  type PolicyView,
  type WatchStatus,
} from './views.js';

export type { AnomalyView, AttestState, PolicyView, WatchStatus } from './views.js';

// The watch: cycles (probes → `gpu.probe.completed`, new anomalies → `gpu.anomaly.detected`),
// first-load captures and the baseline ceremony, one at a time, on the `gpu/<host>` aggregate
// through the command kernel. Its memory is that aggregate's fold, kept in step with each append.

/** How often a watch without a valid policy asks again whether one is active. */
export const POLICY_RETRY_MS = 15_000;

export type CycleTrigger = 'startup' | 'periodic' | 'request';

export interface GpuWatchDeps extends ProbeDeps {
  /** Signs as `gpu-integrity-watch`. */
  events: EventStore;
  host: string;
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
    return statusOf(this.#current(), this.host, this.#policy, this.#nextCycleAt);
  }

  /** The last `limit` cycles, oldest first. */
  history(limit = 100): ScoreEntry[] {
    return this.#current().history.slice(-Math.max(0, limit));
  }

  attestState(): AttestState {
    return attestStateOf(this.#current(), this.host, this.#policy, {
      driver: this.#lastDriver,
      devices: this.#lastDevices,
    });
  }

  policyView(): PolicyView {
    return policyViewOf(this.#policy);
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
    const run = await runProbes(this.#deps, settings, baseline, doc);
    if (run.driver !== undefined) this.#lastDriver = run.driver;
    if (run.devices !== undefined) this.#lastDevices = run.devices;

    const handled = await this.#handle({
      type: 'RecordCycle',
      host: this.host,
      probes: run.probes,
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
    const capture = await firstLoadCapture(this.#deps, this.host, m, settings.sentinelMaxTokens);
    if (!capture.ok) {
      // A file that is not its digest is news (the tensor hash reports it); no answer is not.
      const level = capture.why.startsWith('the file') ? 'warn' : 'info';
      this.#log[level]({ model: m.digest, why: capture.why }, 'not captured at first load');
      return;
    }
    const handled = await this.#handle(
      { type: 'CaptureBaseline', trigger: 'first_load', data: capture.data },
      entry.eventId,
    );
    if (handled.appended)
      this.#log.info({ model: m.digest }, 'sentinel baseline captured at first load');
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
    const capture = await ceremonyCapture(
      this.#deps,
      this.host,
      input,
      doc,
      read.settings.sentinelMaxTokens,
    );
    this.#lastDriver = capture.driver;
    this.#lastDevices = capture.devices;
    const handled = await this.#handle({
      type: 'CaptureBaseline',
      trigger: 'ceremony',
      data: capture.data,
    });
    const refusal = handled.decision.refusal;
    if (refusal) throw new GpuWatchError('OPERATOR_RESERVED', refusal.message);
    const captured = handled.recorded[0]!;
    const { data } = capture;
    this.#log.info(
      {
        operator: input.operator,
        tensorHashes: data.tensorHashes.length,
        sentinels: data.sentinels.length,
        skipped: capture.skipped.length,
      },
      'GPU baseline captured (ceremony)',
    );
    return {
      eventId: captured.id,
      capturedAt: captured.time,
      operator: input.operator,
      tensorHashes: data.tensorHashes.length,
      sentinels: data.sentinels.map((r) => ({ model: r.model, tokens: r.tokens.length })),
      notLoaded: capture.notLoaded,
      skipped: capture.skipped,
      driver: capture.driver,
      devices: capture.devices,
    };
  }
}
