import { dirname, join } from 'node:path';
import { PATH_CLASSES, type DraftEvent } from '@secai/contracts';
import type { RegistryManifestDocument } from '@secai/projections';
import { CommandHandler, type EventStore, type LoadedEvent, type Logger } from '@secai/streams';
import { baselineFile, pruneBaselines, readBaseline, writeBaseline } from './baselineStore.js';
import {
  inScope,
  integrityDecider,
  isIntegrityEventType,
  settle,
  type ClassState,
  type IntegrityCommand,
  type IntegrityEvent,
  type Scope,
} from './decider.js';
import { applyGrace, modelDifferences } from './modelRules.js';
import { ModelHasher, expectedModels } from './modelStore.js';
import { Observer } from './observe.js';
import { belongsTo, leadsTo, minimalScope, type PathSet } from './patterns.js';
import {
  BASELINED_CLASSES,
  bounded,
  diffRecords,
  differenceKey,
  isWithin,
  type BaselinedClass,
  type Difference,
  type FileRecord,
  type IntegrityStateName,
  type PathClassName,
  type SeverityName,
} from './records.js';
import type { IntegritySettings } from './settings.js';
import { DirWatcher } from './watcher.js';

/** More changed paths than this in one batch are checked by a full scan instead. */
export const MAX_TARGETED_PATHS = 256;
const STATE_RANK: Record<IntegrityStateName, number> = { ok: 0, degraded: 1, recovery_required: 2 };

export type CheckTrigger = 'startup' | 'periodic' | 'request' | 'notification' | 'grace';

export interface Metadata {
  causationId?: string | undefined;
  correlationId?: string | undefined;
}

/** A violation that holds now (what `GET /api/v1/violations` lists). */
export interface OpenViolation extends Difference {
  pathClass: PathClassName;
  severity: SeverityName;
  /** When this exact difference was first seen by this process. */
  firstSeenAt: string;
  /** Whether an `integrity.violation.detected` event records it (false while capped). */
  reported: boolean;
}

export interface CheckSummary {
  trigger: CheckTrigger;
  scope: 'full' | 'paths';
  startedAt: string;
  durationMs: number;
  /** Paths looked at (baselined classes and the model store). */
  filesChecked: number;
  bytesHashed: number;
  /** Open violations across classes after the check. */
  violations: number;
  /** `integrity.violation.detected` events this check recorded. */
  reported: number;
  state: IntegrityStateName;
}

export interface ClassStatus {
  state: IntegrityStateName;
  violationCount: number;
  severity: SeverityName;
  /** Null for `model_file` (checked against the registry) and before the first baseline. */
  baseline: { entriesDigest: string; entryCount: number; intact: boolean } | null;
  lastCheckAt: string | null;
}

export interface MonitorStatus {
  state: IntegrityStateName;
  violationCount: number;
  classes: Record<PathClassName, ClassStatus>;
  lastScan: CheckSummary | null;
  lastCheck: CheckSummary | null;
  scanCount: number;
  checkCount: number;
  modelsHashed: number;
  watchedDirectories: number;
  scanIntervalSeconds: number;
  configDigest: string;
}

export type RebaselineOutcome =
  | { ok: true; eventId: string; differences: number; classes: PathClassName[] }
  | { ok: false; code: 'nothing_to_accept' | 'config_invalid'; message: string };

export interface MonitorDeps {
  events: EventStore;
  settings: IntegritySettings;
  stateDir: string;
  /** The registry manifest (hosted projection) and a way to wait until it has caught up. */
  registry: { document(): RegistryManifestDocument; caughtUp(): Promise<void> };
  log: Logger;
  /** Reads integrity.yaml again; called by the rebaseline ceremony. */
  reloadSettings?: () => Promise<IntegritySettings>;
  /** File-system notifications (default on). */
  watch?: boolean;
  observer?: Observer;
  now?: () => Date;
}

interface ClassRuntime {
  pathClass: PathClassName;
  state: ClassState;
  lastSequence: number;
  /** The trusted baseline's entries; null for `model_file` or when the stored file is refused. */
  records: Map<string, FileRecord> | null;
  /** The stored baseline no longer matches its signed digest: one violation on its file. */
  baselineProblem: Difference | null;
  open: Map<string, OpenViolation>;
  lastCheckAt: string | null;
}

function toDraft(e: IntegrityEvent): DraftEvent {
  return { type: e.type, aggregateId: e.aggregateId, data: e.data };
}

function fromStored(loaded: LoadedEvent): IntegrityEvent | null {
  if (!isIntegrityEventType(loaded.event.type)) return null;
  return {
    type: loaded.event.type,
    aggregateId: loaded.aggregate.id,
    data: loaded.event.data,
  } as IntegrityEvent;
}

/**
 * The integrity monitor's edge: keeps one runtime per path class (its aggregate folded from the
 * stream, its trusted baseline entries, what is open now), observes the disk, asks the decider,
 * appends. Every check, scan and rebaseline runs one at a time.
 */
export class IntegrityMonitor {
  readonly #handler: CommandHandler<IntegrityCommand, IntegrityEvent, ClassState>;
  readonly #stateDir: string;
  readonly #registry: MonitorDeps['registry'];
  readonly #log: Logger;
  readonly #observer: Observer;
  readonly #now: () => Date;
  readonly #reloadSettings: (() => Promise<IntegritySettings>) | undefined;
  readonly #classes = new Map<PathClassName, ClassRuntime>();
  readonly #models = new ModelHasher();
  #settings: IntegritySettings;
  #watcher: DirWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  #graceAt = Infinity;
  #modelFirstSeen = new Map<string, number>();
  #tail: Promise<unknown> = Promise.resolve();
  #fullQueued: Promise<CheckSummary> | null = null;
  #pendingPaths = new Set<string>();
  #checkQueued = false;
  #stopped = false;
  #lastScan: CheckSummary | null = null;
  #lastCheck: CheckSummary | null = null;
  #scanCount = 0;
  #checkCount = 0;
  readonly #watchEnabled: boolean;

  constructor(deps: MonitorDeps) {
    this.#handler = new CommandHandler({
      store: deps.events,
      aggregateType: 'integrity',
      decider: integrityDecider,
      fromStored,
      toDraft,
      log: deps.log,
    });
    this.#settings = deps.settings;
    this.#stateDir = deps.stateDir;
    this.#registry = deps.registry;
    this.#log = deps.log;
    this.#observer = deps.observer ?? new Observer();
    this.#now = deps.now ?? (() => new Date());
    this.#reloadSettings = deps.reloadSettings;
    this.#watchEnabled = deps.watch ?? true;
  }

  get settings(): IntegritySettings {
    return this.#settings;
  }

  #set(c: BaselinedClass): PathSet {
    const s = this.#settings.classes[c];
    return { patterns: s.patterns, exclude: s.exclude };
  }

  #severity(c: PathClassName): SeverityName {
    return c === 'model_file' ? this.#settings.models.severity : this.#settings.classes[c].severity;
  }

  #rt(c: PathClassName): ClassRuntime {
    return this.#classes.get(c)!;
  }

  /** Runs `task` after every task queued before it (checks, scans and rebaselines never overlap). */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Decides on the class as this process holds it (`settle` forgets what it no longer finds, which
   * no event records) and appends; a conflict reloads from the stream and decides again.
   */
  async #commit(
    rt: ClassRuntime,
    command: IntegrityCommand,
    meta: Metadata = {},
  ): Promise<{ events: IntegrityEvent[]; ids: string[] }> {
    const result = await this.#handler.handle(rt.pathClass, command, {
      meta,
      known: { state: rt.state, lastSequence: rt.lastSequence },
    });
    rt.state = result.state;
    rt.lastSequence = result.lastSequence;
    return { events: result.decision.events, ids: result.appended?.ids ?? [] };
  }

  /**
   * Folds every class from the stream; on first boot records each baseline from what is on disk
   * now; otherwise reads each stored baseline back and checks it against its signed digest.
   * Then the first full scan, the watches and the periodic timer.
   */
  async start(): Promise<CheckSummary> {
    for (const c of PATH_CLASSES) {
      const { state, lastSequence } = await this.#handler.load(c);
      this.#classes.set(c, {
        pathClass: c,
        state,
        lastSequence,
        records: null,
        baselineProblem: null,
        open: new Map(),
        lastCheckAt: null,
      });
    }
    for (const c of BASELINED_CLASSES) await this.#openBaseline(this.#rt(c));
    if (this.#watchEnabled)
      this.#watcher = new DirWatcher({
        debounceMs: this.#settings.debounceMs,
        onChange: (paths) => this.#notified(paths),
        log: this.#log,
      });
    const first = await this.scan('startup');
    this.#startTimer();
    return first;
  }

  async #openBaseline(rt: ClassRuntime): Promise<void> {
    const c = rt.pathClass as BaselinedClass;
    const baseline = rt.state.baseline;
    if (!baseline) {
      // First boot: what is on disk now is what is trusted (there is no release baseline yet).
      const obs = await this.#observer.observeSet(this.#set(c));
      const written = await writeBaseline(this.#stateDir, c, obs.records.values(), this.#now());
      await this.#commit(rt, {
        type: 'create_baseline',
        pathClass: c,
        entryCount: written.entryCount,
        entriesDigest: written.entriesDigest,
        releaseVerified: false,
      });
      rt.records = obs.records;
      this.#log.info(
        { pathClass: c, entries: written.entryCount, digest: written.entriesDigest },
        'baseline created',
      );
      return;
    }
    const read = await readBaseline(this.#stateDir, c, baseline.entriesDigest);
    if (read.ok) {
      rt.records = read.records;
      rt.baselineProblem = null;
      return;
    }
    rt.records = null;
    rt.baselineProblem = {
      path: read.file,
      kind: read.actual === null ? 'deleted' : 'modified',
      expected: baseline.entriesDigest,
      actual: read.actual,
    };
    this.#log.error(
      { pathClass: c, file: read.file, problem: read.problem },
      'stored baseline does not match its signed digest',
    );
  }

  #startTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      this.scan('periodic').catch((err: unknown) => this.#log.error({ err }, 'scan failed'));
    }, this.#settings.scanIntervalMs);
    this.#timer.unref();
  }

  /** A full scan of every class; joins one that is queued and has not started yet. */
  scan(trigger: CheckTrigger, meta: Metadata = {}): Promise<CheckSummary> {
    if (this.#fullQueued) return this.#fullQueued;
    const queued = this.#exclusive(async () => {
      this.#fullQueued = null;
      return this.#fullCheck(trigger, meta);
    });
    this.#fullQueued = queued;
    return queued;
  }

  async #record(
    rt: ClassRuntime,
    scope: Scope,
    differences: Difference[],
    meta: Metadata,
    baselineIntact = true,
  ): Promise<number> {
    const s = this.#settings;
    const { events } = await this.#commit(
      rt,
      {
        type: 'record_check',
        pathClass: rt.pathClass,
        scope,
        differences,
        rules: {
          severity: this.#severity(rt.pathClass),
          recoveryThreshold: s.recoveryThreshold,
          maxReports: s.maxReportsPerCheck,
          latch: rt.pathClass !== 'model_file',
        },
        baselineIntact,
      },
      meta,
    );
    rt.state = settle(rt.state, scope, differences);
    const now = this.#now().toISOString();
    const open = new Map<string, OpenViolation>();
    for (const [k, v] of rt.open) if (!inScope(scope, v.path)) open.set(k, v);
    for (const d of differences) {
      const k = differenceKey(d);
      const before = rt.open.get(k);
      const same = before && before.expected === d.expected && before.actual === d.actual;
      const reported = rt.state.reported[differenceKey(bounded(d))];
      open.set(k, {
        ...d,
        pathClass: rt.pathClass,
        severity: this.#severity(rt.pathClass),
        firstSeenAt: same ? before.firstSeenAt : now,
        reported: reported !== undefined && reported.actual === d.actual,
      });
    }
    rt.open = open;
    rt.lastCheckAt = now;
    const reported = events.filter((e) => e.type === 'integrity.violation.detected').length;
    for (const e of events)
      if (e.type === 'integrity.state.changed')
        this.#log.warn({ ...e.data }, 'integrity state changed');
    return reported;
  }

  async #fullCheck(trigger: CheckTrigger, meta: Metadata): Promise<CheckSummary> {
    const started = this.#now();
    const t0 = performance.now();
    let files = 0;
    let bytes = 0;
    let reported = 0;
    const watch = new Set<string>();
    for (const c of BASELINED_CLASSES) {
      const rt = this.#rt(c);
      if (!rt.records) {
        reported += await this.#record(rt, { kind: 'full' }, [rt.baselineProblem!], meta, false);
        continue;
      }
      const obs = await this.#observer.observeSet(this.#set(c));
      files += obs.records.size;
      bytes += obs.bytesHashed;
      for (const d of obs.dirs) watch.add(d);
      reported += await this.#record(
        rt,
        { kind: 'full' },
        diffRecords(rt.records, obs.records),
        meta,
      );
    }
    const models = await this.#checkModels(meta);
    files += models.files;
    reported += models.reported;
    for (const d of models.dirs) watch.add(d);
    this.#watcher?.reconcile(watch);
    const summary = this.#summary(trigger, 'full', started, t0, files, bytes, reported);
    this.#lastScan = summary;
    this.#scanCount++;
    return summary;
  }

  async #checkModels(
    meta: Metadata,
  ): Promise<{ files: number; reported: number; dirs: Set<string> }> {
    const store = this.#settings.models.store;
    try {
      await this.#registry.caughtUp();
    } catch (err) {
      this.#log.warn({ err }, 'registry manifest has not caught up; checking with what it has');
    }
    const expected = expectedModels(this.#registry.document());
    const obs = await this.#observer.observeTree(store, false);
    const artifacts = new Map<string, Awaited<ReturnType<ModelHasher['result']>>>();
    for (const m of expected) {
      const path = join(store, m.storePath);
      const r = obs.records.get(path);
      if (r && r.type !== 'link')
        artifacts.set(m.digest, await this.#models.result(m.digest, path));
    }
    this.#models.retain(expected.map((m) => m.digest));
    const differences = modelDifferences(expected, {
      storeRoot: store,
      records: obs.records,
      artifacts,
    });
    const now = this.#now().getTime();
    const rt = this.#rt('model_file');
    const graced = applyGrace(
      differences,
      this.#modelFirstSeen,
      now,
      this.#settings.modelGraceMs,
      (d) => {
        const r = rt.state.reported[differenceKey(d)];
        return r !== undefined && r.expected === d.expected && r.actual === d.actual;
      },
    );
    this.#modelFirstSeen = graced.firstSeen;
    if (graced.recheckAt !== null) this.#scheduleGrace(graced.recheckAt - now);
    const reported = await this.#record(rt, { kind: 'full' }, graced.ready, meta);
    const dirs = new Set(obs.dirs);
    if (obs.records.size === 0) dirs.add(dirname(store));
    return { files: obs.records.size, reported, dirs };
  }

  #scheduleGrace(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.#stopped || at >= this.#graceAt) return;
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceAt = at;
    this.#graceTimer = setTimeout(
      () => {
        this.#graceTimer = null;
        this.#graceAt = Infinity;
        this.#exclusive(async () => {
          const t0 = performance.now();
          const started = this.#now();
          const m = await this.#checkModels({});
          this.#watcher?.add(m.dirs);
          this.#lastCheck = this.#summary('grace', 'paths', started, t0, m.files, 0, m.reported);
          this.#checkCount++;
        }).catch((err: unknown) => this.#log.error({ err }, 'model check failed'));
      },
      Math.max(0, delayMs) + 5,
    );
    this.#graceTimer.unref();
  }

  #notified(paths: string[]): void {
    for (const p of paths) this.#pendingPaths.add(p);
    if (this.#checkQueued || this.#stopped) return;
    this.#checkQueued = true;
    this.#exclusive(async () => {
      this.#checkQueued = false;
      const batch = [...this.#pendingPaths];
      this.#pendingPaths.clear();
      // A full scan queued behind this point reads everything anyway.
      if (this.#fullQueued || this.#stopped) return;
      await this.#checkPaths(batch);
    }).catch((err: unknown) => this.#log.error({ err }, 'notification check failed'));
  }

  /** Checks only what notifications named (a targeted check), or everything when needed. */
  async #checkPaths(paths: readonly string[]): Promise<void> {
    const store = this.#settings.models.store;
    const sets = BASELINED_CLASSES.map((c) => [c, this.#set(c)] as const);
    if (
      paths.length > MAX_TARGETED_PATHS ||
      paths.some((p) => sets.some(([, set]) => leadsTo(set, p)))
    ) {
      // A directory on the way to a pattern changed (new roots may match), or so much changed
      // at once (a reinstall) that one pass over everything is cheaper: look at everything.
      await this.#fullCheck('notification', {});
      return;
    }
    const started = this.#now();
    const t0 = performance.now();
    let files = 0;
    let bytes = 0;
    let reported = 0;
    for (const [c, set] of sets) {
      const rt = this.#rt(c);
      const relevant = paths.filter((p) => belongsTo(set, p));
      if (relevant.length === 0 || !rt.records) continue;
      const scope = minimalScope(relevant);
      const obs = await this.#observer.observePaths(set, scope);
      files += obs.records.size;
      bytes += obs.bytesHashed;
      this.#watcher?.add(obs.dirs);
      reported += await this.#record(
        rt,
        { kind: 'paths', paths: scope },
        diffRecords(rt.records, obs.records, scope),
        {},
      );
    }
    if (paths.some((p) => isWithin(p, store) || isWithin(store, p))) {
      const m = await this.#checkModels({});
      files += m.files;
      reported += m.reported;
      this.#watcher?.add(m.dirs);
    }
    this.#lastCheck = this.#summary('notification', 'paths', started, t0, files, bytes, reported);
    this.#checkCount++;
  }

  #summary(
    trigger: CheckTrigger,
    scope: 'full' | 'paths',
    started: Date,
    t0: number,
    filesChecked: number,
    bytesHashed: number,
    reported: number,
  ): CheckSummary {
    const status = this.status();
    return {
      trigger,
      scope,
      startedAt: started.toISOString(),
      durationMs: Math.round(performance.now() - t0),
      filesChecked,
      bytesHashed,
      violations: status.violationCount,
      reported,
      state: status.state,
    };
  }

  /**
   * The operator ceremony: reads integrity.yaml again, observes every baselined class, and
   * replaces each baseline that differs (or whose class is not `ok`) with what is on disk now,
   * recording `integrity.rebaselined` with the differences accepted.
   */
  rebaseline(operator: string, reason: string, meta: Metadata = {}): Promise<RebaselineOutcome> {
    return this.#exclusive(async () => {
      if (this.#reloadSettings) {
        try {
          this.#settings = await this.#reloadSettings();
        } catch (err) {
          return {
            ok: false,
            code: 'config_invalid',
            message: (err as Error).message.slice(0, 1024),
          } as const;
        }
      }
      let firstId: string | null = null;
      let total = 0;
      const classes: PathClassName[] = [];
      for (const c of BASELINED_CLASSES) {
        const rt = this.#rt(c);
        const obs = await this.#observer.observeSet(this.#set(c));
        const differences = diffRecords(rt.records ?? new Map(), obs.records);
        const written = await writeBaseline(this.#stateDir, c, obs.records.values(), this.#now());
        const { ids } = await this.#commit(
          rt,
          {
            type: 'rebaseline',
            pathClass: c,
            entryCount: written.entryCount,
            entriesDigest: written.entriesDigest,
            operator,
            reason,
            differences,
          },
          meta,
        );
        if (ids.length === 0) continue;
        firstId ??= ids[0]!;
        total += differences.length;
        classes.push(c);
        rt.records = obs.records;
        rt.baselineProblem = null;
        rt.open = new Map();
        await pruneBaselines(this.#stateDir, c, written.entriesDigest);
        this.#log.warn(
          { pathClass: c, operator, accepted: differences.length, digest: written.entriesDigest },
          'rebaselined',
        );
      }
      this.#startTimer();
      if (firstId === null)
        return {
          ok: false,
          code: 'nothing_to_accept',
          message: 'every baselined class matches the disk and is ok: nothing to accept',
        } as const;
      return { ok: true, eventId: firstId, differences: total, classes } as const;
    });
  }

  status(): MonitorStatus {
    const classes = {} as Record<PathClassName, ClassStatus>;
    let worst: IntegrityStateName = 'ok';
    let count = 0;
    for (const c of PATH_CLASSES) {
      const rt = this.#rt(c);
      const b = rt.state.baseline;
      classes[c] = {
        state: rt.state.state,
        violationCount: rt.open.size,
        severity: this.#severity(c),
        baseline: b ? { ...b, intact: rt.records !== null } : null,
        lastCheckAt: rt.lastCheckAt,
      };
      if (STATE_RANK[rt.state.state] > STATE_RANK[worst]) worst = rt.state.state;
      count += rt.open.size;
    }
    return {
      state: worst,
      violationCount: count,
      classes,
      lastScan: this.#lastScan,
      lastCheck: this.#lastCheck,
      scanCount: this.#scanCount,
      checkCount: this.#checkCount,
      modelsHashed: this.#models.hashed,
      watchedDirectories: this.#watcher?.size ?? 0,
      scanIntervalSeconds: this.#settings.scanIntervalMs / 1000,
      configDigest: this.#settings.digest,
    };
  }

  /** What holds now, sorted by class and path. */
  violations(pathClass?: PathClassName): OpenViolation[] {
    const out: OpenViolation[] = [];
    for (const c of PATH_CLASSES)
      if (pathClass === undefined || pathClass === c) out.push(...this.#rt(c).open.values());
    return out.sort((a, b) =>
      a.pathClass !== b.pathClass
        ? a.pathClass < b.pathClass
          ? -1
          : 1
        : a.path < b.path
          ? -1
          : a.path > b.path
            ? 1
            : a.kind < b.kind
              ? -1
              : 1,
    );
  }

  /** Where a class's trusted entries are stored (for operators and tests). */
  baselineFileOf(c: BaselinedClass): string | null {
    const b = this.#rt(c).state.baseline;
    return b ? baselineFile(this.#stateDir, c, b.entriesDigest) : null;
  }

  /** Stops the timers and watches, then waits for the check in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#watcher?.close();
    await this.#tail;
  }
}
