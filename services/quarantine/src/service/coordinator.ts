import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { newEventId, type DecisionRequestData } from '@secai/contracts';
import {
  CommandHandler,
  readHistory,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type LoadedEvent,
  type Logger,
} from '@secai/streams';
import { removeTree } from '../intake/snapshot.js';
import { isRunEventType } from '../machine.js';
import type { PolicyBundle } from './policyBundle.js';
import {
  nextOf,
  runDecider,
  type ArtifactEvent,
  type ArtifactState,
  type BoundPolicy,
  type EngineAnswer,
  type EventMeta,
  type PromotionDecision,
  type Run,
  type RunCommand,
  type RunDecision,
  type RunEffect,
} from './run.js';
import { signatureOf, type StageExecutor } from './stages.js';
import { StagesAhead } from './stagesAhead.js';

/** The kernel's handler for `artifact/<hex>` aggregates, deciding with `runDecider`. */
export type ArtifactHandler = CommandHandler<RunCommand, ArtifactEvent, ArtifactState, RunEffect>;

/** Asks the policy engine one question with the signed decide command (never throws). */
export type EngineAsker = (request: DecisionRequestData) => Promise<EngineAnswer>;

export interface CoordinatorDeps {
  store: EventStore;
  log: Logger;
  quarantineDir: string;
  /** The bundle of the active policy now, or null when none is valid (then no run starts). */
  bundle: () => Promise<PolicyBundle | null>;
  executeStage: StageExecutor;
  askEngine: EngineAsker;
  behaviorThreads: number;
  now?: () => Date;
}

/** A stored artifact event as the decider folds it: type and data as stored, plus where it sits. */
export function artifactEventOf(loaded: LoadedEvent): ArtifactEvent | null {
  const e = loaded.event;
  if (e.type !== 'model.acquired' && !isRunEventType(e.type)) return null;
  const meta: EventMeta = { id: e.id, time: e.time, correlationId: e.correlationid };
  if (e.causationid !== undefined) meta.causationId = e.causationid;
  return { type: e.type, data: e.data, meta } as ArtifactEvent;
}

export function artifactHandler(store: EventStore, log?: Logger): ArtifactHandler {
  return new CommandHandler({
    store,
    aggregateType: 'artifact',
    decider: runDecider,
    fromStored: artifactEventOf,
    toDraft: (e, aggregateId) => ({ type: e.type, aggregateId, data: e.data }),
    ...(log ? { log } : {}),
  });
}

/** The decider names each event's causation and correlation; the kernel appends with them. */
const metaOf = (decision: RunDecision) => decision.events[0]?.meta ?? {};

const bound = (b: PolicyBundle | null): BoundPolicy | null =>
  b && { digest: b.digest, policyDigest: b.policyDigest };

/**
 * Drives quarantine runs from their events. For one artifact it asks the run decider for the next
 * step (`Advance`, appended through the kernel with the aggregate's expected sequence, decided
 * again on a conflict within the kernel's one bound), carries out the work the decision hands
 * back (a stage in its sandboxed worker, or the source question to the policy engine) and records
 * its outcome the same way; it stops when the run waits for the promotion decision or has ended.
 * Because every step is decided from the stored events, a restart resumes exactly where the last
 * appended event left the run: a stage whose event was stored never runs again, a stage without
 * one runs (again, if it was cut off mid-way).
 *
 * Within a run, the read-only stages (format gate, hash pin, provenance, static scan) run beside
 * each other (`StagesAhead`): each outcome is still recorded only when the decider asks for its
 * stage, so events stay in plan order and the first failure in plan order decides; outcomes the
 * run never asks for are discarded. Runs execute one at a time (stages are CPU- and
 * memory-heavy; a run's discarded workers end before the next run starts); artifacts queue in
 * order.
 */
export class Coordinator {
  readonly artifacts: ArtifactHandler;
  readonly #deps: CoordinatorDeps;
  readonly #now: () => Date;
  /** Run correlation id → artifact id, so a promotion decision finds its run. */
  readonly #runs = new Map<string, string>();
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  /** Runs that could not start for want of a policy: taken up again once one is loaded. */
  readonly #waiting = new Set<string>();
  #draining: Promise<void> | null = null;
  #idleWaiters: (() => void)[] = [];
  #stopped = false;

  constructor(deps: CoordinatorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.artifacts = artifactHandler(deps.store, deps.log);
  }

  /** Artifacts with an open run in the stream (acquired, not yet promoted or rejected). */
  async openRuns(js: JetStreamClient, jsm: JetStreamManager): Promise<string[]> {
    const last = new Map<string, string>();
    for await (const entry of readHistory(js, jsm, this.#deps.store.stream, {
      filterSubject: 'secai.evt.artifact.>',
    })) {
      if (
        entry.type === 'model.acquired' ||
        entry.type === 'model.promoted' ||
        entry.type === 'model.rejected'
      )
        last.set(entry.subject.split('.').at(-1)!, entry.type);
    }
    return [...last].filter(([, type]) => type === 'model.acquired').map(([id]) => id);
  }

  /** Re-reads every open run (restoring its correlation) and queues it. */
  async resume(js: JetStreamClient, jsm: JetStreamManager): Promise<number> {
    const open = await this.openRuns(js, jsm);
    for (const id of open) {
      const { state } = await this.artifacts.load(id);
      if (state.run?.correlationId) this.#runs.set(state.run.correlationId, id);
      this.enqueue(id);
    }
    return open.length;
  }

  enqueue(artifactId: string): void {
    if (this.#stopped || this.#queued.has(artifactId)) return;
    this.#queued.add(artifactId);
    this.#queue.push(artifactId);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
      for (const w of this.#idleWaiters.splice(0)) w();
    });
  }

  /** A policy was loaded: the runs waiting for one try again. */
  policyLoaded(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const id of waiting) this.enqueue(id);
  }

  /** Resolves once the queue is empty (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#draining === null) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    await this.idle();
  }

  async #drain(): Promise<void> {
    for (let id = this.#queue.shift(); id !== undefined; id = this.#queue.shift()) {
      this.#queued.delete(id);
      try {
        await this.drive(id);
      } catch (err) {
        // A bus or store failure: the run stays open in the stream and resumes on the next start.
        this.#deps.log.error({ err, artifact: id }, 'quarantine run interrupted');
      }
    }
  }

  /** Takes the run of one artifact as far as it can go now. */
  async drive(artifactId: string): Promise<void> {
    const ahead = new StagesAhead(this.#deps.executeStage);
    try {
      await this.#advance(artifactId, ahead);
    } finally {
      await ahead.close();
    }
  }

  async #advance(artifactId: string, ahead: StagesAhead): Promise<void> {
    const { log } = this.#deps;
    while (!this.#stopped) {
      const bundle = await this.#deps.bundle();
      const { decision, state } = await this.artifacts.handle(
        artifactId,
        async (s) => ({
          type: 'Advance',
          now: this.#now(),
          policy: bound(bundle),
          ggufMagic: s.run !== null && (await this.#startsAsGguf(artifactId, s.run)),
          newCorrelationId: newEventId(this.#now()),
        }),
        { meta: metaOf, perform: (d) => this.#perform(artifactId, d) },
      );
      if (decision.refusal) {
        if (decision.refusal.code === 'policy_unavailable') {
          this.#waiting.add(artifactId);
          log.error({ artifact: artifactId }, 'no valid policy is active: the run waits');
        }
        return;
      }
      const appended = decision.events[0];
      if (appended) {
        this.#noteAppended(artifactId, appended);
        if (appended.type === 'model.rejected') return;
        continue;
      }
      const effect = decision.effects?.[0];
      if (!effect || effect.kind === 'discard' || state.run === null) return; // waits, or done
      if (effect.kind === 'run_stage')
        await this.#runStage(artifactId, state.run, effect, bundle!, ahead);
      else await this.#askSourcePolicy(artifactId, effect.request);
    }
  }

  async #runStage(
    artifactId: string,
    run: Run,
    effect: Extract<RunEffect, { kind: 'run_stage' }>,
    bundle: PolicyBundle,
    ahead: StagesAhead,
  ): Promise<void> {
    const path = this.#path(artifactId, run);
    const artifact = {
      path,
      kind: run.acquired.kind,
      signaturePath: await signatureOf(
        this.#deps.quarantineDir,
        artifactId,
        path,
        run.acquired.kind,
      ),
    };
    const outcome = await ahead.take(effect.stage, run.machine.context.planned, {
      run,
      artifact,
      bundle,
      behaviorThreads: this.#deps.behaviorThreads,
    });
    await this.#record(artifactId, { type: 'RecordStage', stage: effect.stage, outcome });
  }

  /** The source question goes to the engine from here: the sandbox has no network. */
  async #askSourcePolicy(artifactId: string, request: DecisionRequestData): Promise<void> {
    const answer = await this.#deps.askEngine(request);
    // The policy is observed after the answer, so a reload in between is noticed.
    const policy = bound(await this.#deps.bundle());
    await this.#record(artifactId, { type: 'RecordSourceDecision', answer, policy });
  }

  async #record(artifactId: string, command: RunCommand): Promise<void> {
    const { decision } = await this.artifacts.handle(artifactId, command, {
      meta: metaOf,
      perform: (d) => this.#perform(artifactId, d),
    });
    const recorded = decision.events[0];
    if (recorded) this.#noteAppended(artifactId, recorded);
  }

  /** A `model_promotion` decision: settles the run whose `quarantine.completed` it answers. */
  async onDecision(decision: PromotionDecision, correlationId: string): Promise<void> {
    const artifactId = this.#runs.get(correlationId);
    if (artifactId === undefined) return; // not a run of ours (or an old run's duplicate)
    const handled = await this.artifacts.handle(
      artifactId,
      { type: 'Settle', decision },
      { meta: metaOf, perform: (d) => this.#perform(artifactId, d) },
    );
    const outcome = handled.decision.events[0];
    if (!outcome) return;
    this.#runs.delete(correlationId);
    this.#deps.log.info(
      { artifact: artifactId, outcome: outcome.type, decision: decision.data.decision },
      'promotion decided',
    );
  }

  #noteAppended(artifactId: string, e: ArtifactEvent): void {
    const { log } = this.#deps;
    switch (e.type) {
      case 'quarantine.started':
        if (e.meta.correlationId) this.#runs.set(e.meta.correlationId, artifactId);
        break;
      case 'quarantine.stage.passed':
      case 'quarantine.stage.failed':
        log.info(
          {
            artifact: artifactId,
            stage: e.data.stage,
            passed: e.type === 'quarantine.stage.passed',
            reason: e.data.reasonCode,
            ms: e.data.durationMs,
          },
          'stage finished',
        );
        break;
      case 'quarantine.completed':
        log.info({ artifact: artifactId }, 'quarantine passed: promotion decision requested');
        break;
      case 'model.rejected':
        log.warn(
          { artifact: artifactId, stage: e.data.stage, reason: e.data.reasonCode },
          'model rejected',
        );
        break;
      default:
        break;
    }
  }

  /** Effects carried out before the append: deleting a rejected artifact (safe to repeat). */
  async #perform(artifactId: string, decision: RunDecision): Promise<void> {
    if (decision.effects?.some((e) => e.kind === 'discard')) await this.#discard(artifactId);
  }

  #path(artifactId: string, run: Run): string {
    return join(this.#deps.quarantineDir, 'artifacts', artifactId, run.acquired.name);
  }

  /** The plan needs the format family, read only for a run about to start. */
  async #startsAsGguf(artifactId: string, run: Run): Promise<boolean> {
    if (run.acquired.kind !== 'file' || nextOf(run).kind !== 'start') return false;
    return hasGgufMagic(this.#path(artifactId, run));
  }

  /** A rejected artifact's bytes are deleted (and its signature); its events remain. */
  async #discard(artifactId: string): Promise<void> {
    await removeTree(join(this.#deps.quarantineDir, 'artifacts', artifactId));
    await removeTree(join(this.#deps.quarantineDir, 'signatures', `${artifactId}.sigstore.json`));
  }
}

/** Only the first four bytes of the untrusted file are read here. */
async function hasGgufMagic(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.toString('latin1') === 'GGUF';
  } finally {
    await fh.close();
  }
}
